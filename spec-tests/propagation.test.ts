// config-linux.md rootfsPropagation and config.md mount options: propagation of the root and
// of each mount (checked by its effect: where a new mount shows up, inside and across to the
// host), the recursive attributes (rro), and nosuid, nodev, noexec, the atime options,
// mode= and size=, each checked by what it does inside the container.
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { MNT_DETACH } from "../ffi/constants.ts";
import { bindMount, containerFixture, expectOk, expectRefused, hostDir } from "./support/assertions.ts";
import { expectNothingLeft } from "./support/config-checks.ts";
import { type Bundle, type BundleOptions, busyboxPath, mountsUnder, type RuntimeConfig } from "./support/bundle.ts";
import { linuxSys } from "../ffi/sys.ts";

// Host-side mounts a test made: detached after it, deepest first, before the fixture checks
// the bundles for leftovers (hooks run in the order they are registered: this one first).
const hostMounts: string[] = [];
afterEach(() => {
  for (const dir of hostMounts.splice(0).reverse()) {
    for (const m of mountsUnder(dir)) {
      try {
        linuxSys.umount(m, MNT_DETACH);
      } catch {
        // reported by the fixture if it is still there
      }
    }
  }
});

const fx = containerFixture();

function sh(cmd: string[]): void {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString()}`);
}

/** A host dir in the bundle, bind-mounted on itself with the given propagation (shared, …). */
function hostMountPoint(b: Bundle, name: string, propagation: "shared" | "private"): string {
  const dir = hostDir(b, name);
  hostMounts.push(dir);
  sh(["mount", "--bind", dir, dir]);
  sh(["mount", `--make-${propagation}`, dir]);
  return dir;
}

/** The last mountinfo entry at `point` in `text`: root, per-mount options, optional fields,
 *  filesystem type and super options. */
function entryAt(text: string, point: string) {
  const f = text
    .split("\n")
    .filter((l) => l.includes(" - "))
    .map((l) => l.split(" "))
    .filter((x) => x[4] === point)
    .at(-1);
  if (!f) return undefined;
  const dash = f.indexOf("-");
  return { options: f[5]!.split(","), optional: f.slice(6, dash), fstype: f[dash + 1], superOptions: f[dash + 3]!.split(",") };
}

const SYS_ADMIN = ["CAP_SYS_ADMIN", "CAP_KILL"];
/** CAP_SYS_ADMIN (to mount inside), a writable root and an empty /mnt. */
const canMount = (c: RuntimeConfig) => {
  c.process.capabilities = { bounding: SYS_ADMIN, effective: SYS_ADMIN, permitted: SYS_ADMIN };
  c.root.readonly = false;
};

/** Inside: bind / (recursively) at /tmp/view, then mount a tmpfs at /m, and tell whether
 *  it showed up in the view: it does where / is shared (the view is then its peer). */
const VIEW_SCRIPT =
  "mount -t tmpfs tmpfs /tmp && mkdir /tmp/view /m && mount -o rbind / /tmp/view && mount -t tmpfs tmpfs /m && " +
  "if grep -q ' /tmp/view/m ' /proc/self/mountinfo; then echo seen; else echo unseen; fi; cat /proc/self/mountinfo";

function rootfsWith(propagation: string | undefined, args: string[]): BundleOptions {
  return {
    args,
    mutate: (c) => {
      canMount(c);
      if (propagation) c.linux!.rootfsPropagation = propagation;
    },
  };
}

describe("rootfsPropagation", () => {
  for (const [propagation, optional, seen] of [
    ["shared", /^shared:\d+$/, "seen"],
    ["rshared", /^shared:\d+$/, "seen"],
    ["private", undefined, "unseen"],
    ["rprivate", undefined, "unseen"],
  ] as const) {
    test(`${propagation}: / is ${optional ? "shared" : "private"}, and a mount made inside ${seen === "seen" ? "shows up" : "does not show up"} in a bind of /`, () => {
      const r = fx.run(rootfsWith(propagation, ["sh", "-c", VIEW_SCRIPT]));
      expect(r.stderr).toBe("");
      const [count, ...rest] = r.stdout.split("\n");
      expect(count).toBe(seen);
      const root = entryAt(rest.join("\n"), "/")!;
      if (optional) expect(root.optional).toEqual([expect.stringMatching(optional)]);
      else expect(root.optional).toEqual([]);
    });
  }

  // The rootfs is a bind of a mount the runtime made private (pivot_root needs it, and no
  // mount may leak out through it), so / is the slave of nothing: it shows no master, and
  // a host mount reaches the container only through a bind mount (tested below).
  test("slave (the default when unset): / is not shared, a mount inside does not reach the bind of /", () => {
    for (const propagation of ["rslave", undefined]) {
      const r = fx.run(rootfsWith(propagation, ["sh", "-c", VIEW_SCRIPT]));
      expect(r.stderr).toBe("");
      const [count, ...rest] = r.stdout.split("\n");
      expect(`${propagation}: ${count}`).toBe(`${propagation}: unseen`);
      expect(entryAt(rest.join("\n"), "/")!.optional.filter((o) => o.startsWith("shared:"))).toEqual([]);
    }
  });

  for (const propagation of ["unbindable", "runbindable"]) {
    test(`${propagation}: binding / inside fails with EINVAL`, () => {
      const r = fx.run(rootfsWith(propagation, ["sh", "-c", "cat /proc/self/mountinfo; mount -t tmpfs tmpfs /tmp && mkdir /tmp/x && mount -o bind / /tmp/x"]));
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain("Invalid argument");
      expect(entryAt(r.stdout, "/")!.optional).toContain("unbindable");
    });
  }
});

describe("rootfsPropagation and the host", () => {
  test("shared: nothing mounted inside reaches the host, even where the host's rootfs is a shared bind", () => {
    const b = fx.bundle({ args: ["sh", "-c", "mount -t tmpfs tmpfs /m && grep -c ' /m ' /proc/self/mountinfo"], mutate: canMount });
    b.config.linux!.rootfsPropagation = "rshared";
    b.writeConfig();
    mkdirSync(join(b.rootfs, "m"));
    hostMounts.push(b.rootfs);
    sh(["mount", "--bind", b.rootfs, b.rootfs]);
    sh(["mount", "--make-shared", b.rootfs]);
    // the runtime makes the rootfs's parent private before binding it (pivot_root needs
    // that), as runc does: neither /m nor /proc, /dev, … show up on the host
    expect(expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]))).toBe("1\n");
    expect(mountsUnder(b.rootfs)).toEqual([b.rootfs]);
  });

  test("without a mount namespace of its own, rootfsPropagation is refused (it would change the host's mounts)", () => {
    const b = fx.bundle({
      args: ["true"],
      mutate: (c) => {
        c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== "mount");
        c.linux!.maskedPaths = [];
        c.linux!.readonlyPaths = [];
        c.linux!.rootfsPropagation = "rslave";
        c.root.readonly = false;
      },
    });
    const id = fx.rt.id();
    expectRefused(fx.rt.bunc(["run", "--bundle", b.dir, id]), "linux.rootfsPropagation", "mount namespace");
    expectNothingLeft(fx.rt);
  });
});

describe("propagation of a bind mount across to the host", () => {
  /** A running container with a host dir (bind-mounted shared on the host) at /x, bound with
   *  `options` and the root propagation `root`. */
  function started(options: string[], root?: string) {
    const b = fx.bundle({ args: ["sleep", "1000"], mutate: canMount });
    const src = hostMountPoint(b, "src", "shared");
    mkdirSync(join(src, "from-host"));
    mkdirSync(join(src, "from-container"));
    b.config.mounts!.push(bindMount(src, "/x", options));
    if (root) b.config.linux!.rootfsPropagation = root;
    b.writeConfig();
    const id = fx.rt.id();
    expectOk(fx.rt.bunc(["run", "-d", "--bundle", b.dir, id]));
    const exec = (cmd: string) => fx.rt.bunc(["exec", id, "sh", "-c", cmd]);
    return { src, exec };
  }
  const seenInside = (exec: (cmd: string) => { stdout: string }) => exec("grep -c ' /x/from-host ' /proc/self/mountinfo").stdout.trim();

  test("rshared under an rshared root: mounts go both ways", () => {
    const { src, exec } = started(["rshared"], "rshared");
    expectOk(exec("mount -t tmpfs tmpfs /x/from-container"));
    expect(mountsUnder(src)).toContain(join(src, "from-container"));
    sh(["mount", "-t", "tmpfs", "tmpfs", join(src, "from-host")]);
    expect(seenInside(exec)).toBe("1");
  });

  test("rslave: host mounts show up inside, the container's do not reach the host", () => {
    const { src, exec } = started(["rslave"]);
    sh(["mount", "-t", "tmpfs", "tmpfs", join(src, "from-host")]);
    expect(seenInside(exec)).toBe("1");
    expectOk(exec("mount -t tmpfs tmpfs /x/from-container"));
    expect(mountsUnder(src)).not.toContain(join(src, "from-container"));
  });

  test("rprivate: neither way", () => {
    const { src, exec } = started(["rprivate"], "rshared");
    sh(["mount", "-t", "tmpfs", "tmpfs", join(src, "from-host")]);
    expect(seenInside(exec)).toBe("0");
    expectOk(exec("mount -t tmpfs tmpfs /x/from-container"));
    expect(mountsUnder(src)).not.toContain(join(src, "from-container"));
  });

  test("runbindable: the mount cannot be bound again inside", () => {
    const { exec } = started(["runbindable"]);
    const r = exec("mount -t tmpfs tmpfs /tmp && mkdir /tmp/y && mount -o bind /x /tmp/y");
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("Invalid argument");
  });
});

describe("mount options", () => {
  /** A bundle running `cmd` as uid 1000 with `dir` (a host dir of the bundle) bound at /x. */
  function withHostDir(cmd: string, options: string[], prepare: (dir: string) => void, user = { uid: 1000, gid: 1000 }) {
    const b = fx.bundle({ args: ["sh", "-c", cmd] });
    const dir = hostDir(b, "x");
    prepare(dir);
    b.config.mounts!.push(bindMount(dir, "/x", options));
    b.config.process.user = user;
    // a setuid program may raise privileges only without no_new_privs
    b.config.process.noNewPrivileges = false;
    b.writeConfig();
    return fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]);
  }
  /** A setuid-root copy of busybox: its `su` says "must be suid" when it did not get euid 0. */
  const setuidBusybox = (dir: string) => {
    const path = join(dir, "busybox");
    copyFileSync(busyboxPath(), path);
    chownSync(path, 0, 0);
    chmodSync(path, 0o4755);
  };
  const SU = "/x/busybox su -c true root < /dev/null";

  test("nosuid: a setuid-root busybox does not gain euid 0", () => {
    const r = withHostDir(SU, ["nosuid"], setuidBusybox);
    expect(r.stderr).toContain("must be suid to work properly");
  });

  test("without nosuid the same busybox does gain euid 0 (the control)", () => {
    const r = withHostDir(SU, [], setuidBusybox);
    expect(r.stderr).not.toContain("must be suid");
    expect(r.stderr).toContain("su:");
  });

  test("nodev: a device node on the mount cannot be opened; without it, it can", () => {
    const mknod = (dir: string) => sh(["mknod", "-m", "666", join(dir, "null"), "c", "1", "3"]);
    const denied = withHostDir("echo x > /x/null", ["nodev"], mknod);
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderr).toContain("Permission denied");
    expectOk(withHostDir("echo x > /x/null", [], mknod));
  });

  test("noexec: exec fails with EACCES; without it, it runs", () => {
    const executable = (dir: string) => {
      copyFileSync(busyboxPath(), join(dir, "busybox"));
      chmodSync(join(dir, "busybox"), 0o755);
    };
    const denied = withHostDir("/x/busybox true", ["noexec"], executable);
    expect(denied.exitCode).toBe(126);
    expect(denied.stderr).toContain("Permission denied");
    expectOk(withHostDir("/x/busybox true", [], executable));
  });

  test("strictatime, noatime and relatime show in mountinfo, on tmpfs and on binds", () => {
    const b = fx.bundle({ args: ["cat", "/proc/self/mountinfo"] });
    const dir = hostDir(b);
    for (const atime of ["strictatime", "noatime", "relatime"]) {
      b.config.mounts!.push({ destination: `/t-${atime}`, type: "tmpfs", source: "tmpfs", options: [atime] });
      b.config.mounts!.push(bindMount(dir, `/b-${atime}`, [atime]));
    }
    b.writeConfig();
    const out = expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]));
    for (const kind of ["t", "b"]) {
      const opts = (atime: string) => entryAt(out, `/${kind}-${atime}`)!.options;
      expect(opts("noatime")).toContain("noatime");
      expect(opts("relatime")).toContain("relatime");
      expect(opts("strictatime")).not.toContain("relatime");
      expect(opts("strictatime")).not.toContain("noatime");
    }
  });

  test("mode= and size= on tmpfs, with nosuid, nodev and noexec", () => {
    const mounts = [{ destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "noexec", "mode=1770", "size=2m", "uid=1000", "gid=100"] }];
    const out = expectOk(fx.run({ args: ["sh", "-c", "stat -c '%a %u %g' /scratch; cat /proc/self/mountinfo"], mutate: (c) => void c.mounts!.push(...mounts) }));
    expect(out.split("\n")[0]).toBe("1770 1000 100");
    const e = entryAt(out, "/scratch")!;
    expect(e.fstype).toBe("tmpfs");
    expect(e.options).toEqual(expect.arrayContaining(["rw", "nosuid", "nodev", "noexec"]));
    expect(e.superOptions).toEqual(expect.arrayContaining(["size=2048k", "mode=1770", "uid=1000", "gid=100"]));
  });

  test("rro on a bind with a submount makes both read-only; ro makes only the top one", () => {
    const b = fx.bundle({ args: ["sh", "-c", "touch /rro/sub/a 2>&1; touch /ro/sub/b && echo ro-sub-writable; cat /proc/self/mountinfo"] });
    const src = hostMountPoint(b, "src", "private");
    mkdirSync(join(src, "sub"));
    sh(["mount", "-t", "tmpfs", "-o", "size=1m,mode=777", "tmpfs", join(src, "sub")]);
    b.config.mounts!.push(bindMount(src, "/rro", ["rro"]), bindMount(src, "/ro", ["ro"]));
    b.writeConfig();
    const out = expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]));
    expect(out).toContain("touch: /rro/sub/a: Read-only file system\nro-sub-writable\n");
    expect(existsSync(join(src, "sub", "b"))).toBe(true);
    expect(entryAt(out, "/rro")!.options).toContain("ro");
    expect(entryAt(out, "/rro/sub")!.options).toContain("ro");
    expect(entryAt(out, "/ro")!.options).toContain("ro");
    expect(entryAt(out, "/ro/sub")!.options).toContain("rw");
  });

  test("a bind without rbind leaves the submount out", () => {
    const b = fx.bundle({ args: ["sh", "-c", "grep -c ' /x/sub ' /proc/self/mountinfo; ls /x/sub | wc -l"] });
    const src = hostMountPoint(b, "src", "private");
    mkdirSync(join(src, "sub"));
    sh(["mount", "-t", "tmpfs", "tmpfs", join(src, "sub")]);
    sh(["touch", join(src, "sub", "on-the-submount")]);
    b.config.mounts!.push({ destination: "/x", type: "bind", source: src, options: ["bind"] });
    b.writeConfig();
    const r = fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]);
    expect(r.stdout).toBe("0\n0\n");
  });
});
