// config.md root and mounts, config-linux.md devices, maskedPaths and readonlyPaths: the
// filesystem the process sees, checked from inside with busybox and /proc/mounts.
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bindMount, containerFixture, expectOk, hostDir } from "./support/assertions.ts";
import type { BundleOptions } from "./support/bundle.ts";

const fx = containerFixture();

const output = (opts: BundleOptions, runArgs: string[] = []) => expectOk(fx.run(opts, runArgs));

/** The /proc/mounts entry (device, type, options) of a mount point, the last one mounted. */
function mountAt(mounts: string, target: string): { source: string; type: string; options: string[] } | undefined {
  const entry = mounts
    .split("\n")
    .map((l) => l.split(" "))
    .filter((f) => f[1] === target)
    .at(-1);
  return entry && { source: entry[0]!, type: entry[2]!, options: entry[3]!.split(",") };
}
const mountsInside = (opts: BundleOptions = {}) => output({ ...opts, args: ["cat", "/proc/mounts"] });

describe("root", () => {
  test("readonly: true makes / read-only", () => {
    const r = fx.run({ args: ["touch", "/x"], config: { root: { readonly: true } } });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("Read-only file system");
    expect(mountAt(mountsInside({ config: { root: { readonly: true } } }), "/")!.options).toContain("ro");
  });

  test("readonly: false leaves / writable", () => {
    const b = fx.bundle({ args: ["touch", "/x"], config: { root: { readonly: false } } });
    expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]));
    expect(existsSync(join(b.rootfs, "x"))).toBe(true);
  });

  test("a relative root.path is taken from the bundle dir", () => {
    const b = fx.bundle({ args: ["cat", "/etc/marker"], files: { "etc/marker": "relative\n" } });
    renameSync(b.rootfs, join(b.dir, "other-root"));
    b.config.root.path = "other-root";
    b.writeConfig();
    // run from elsewhere: the path must not be taken from the cwd
    expect(expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()], { cwd: "/" }))).toBe("relative\n");
  });

  test("an absolute root.path is used as is", () => {
    const b = fx.bundle({ args: ["cat", "/etc/marker"], files: { "etc/marker": "absolute\n" } });
    const elsewhere = fx.bundle({ busybox: false });
    const target = join(elsewhere.dir, "abs-root");
    renameSync(b.rootfs, target);
    b.config.root.path = target;
    b.writeConfig();
    expect(expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]))).toBe("absolute\n");
  });

  test("--no-pivot runs the container in its rootfs", () => {
    const opts = { args: ["sh", "-c", "cat /etc/marker; ls /proc/self/root/etc/marker"], files: { "etc/marker": "no-pivot\n" } };
    expect(output(opts, ["--no-pivot"])).toBe("no-pivot\n/proc/self/root/etc/marker\n");
  });
});

describe("mounts", () => {
  test("tmpfs with size and mode", () => {
    const mounts = [{ destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["size=1m", "mode=0710", "nodev"] }];
    const out = output({ args: ["sh", "-c", "stat -c %a /scratch; cat /proc/mounts"], mutate: (c) => c.mounts!.push(...mounts) });
    const [mode, ...rest] = out.split("\n");
    expect(mode).toBe("710");
    const m = mountAt(rest.join("\n"), "/scratch")!;
    expect(m.type).toBe("tmpfs");
    expect(m.options).toEqual(expect.arrayContaining(["rw", "nodev", "size=1024k", "mode=710"]));
  });

  test("tmpcopyup: the tmpfs starts with the covered directory's tree, modes, owners and links; the image keeps its own", () => {
    const b = fx.bundle({
      args: ["sh", "-c", "grep ' /data ' /proc/mounts | cut -d' ' -f3; stat -c '%a %u' /data; cat /data/a /data/sub/b; stat -c '%a %u %g' /data/sub/b; readlink /data/link; echo new > /data/a"],
      files: { "data/a": "a\n", "data/sub/b": { content: "b\n", mode: 0o604 } },
      mutate: (c) => c.mounts!.push({ destination: "/data", type: "tmpfs", source: "tmpfs", options: ["nosuid", "tmpcopyup"] }),
    });
    symlinkSync("sub/b", join(b.rootfs, "data/link"));
    chmodSync(join(b.rootfs, "data"), 0o750);
    chownSync(join(b.rootfs, "data/sub/b"), 1000, 1000);
    chownSync(join(b.rootfs, "data"), 1000, 0);
    const out = expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]));
    expect(out).toBe("tmpfs\n750 1000\na\nb\n604 1000 1000\nsub/b\n");
    expect(readFileSync(join(b.rootfs, "data/a"), "utf8")).toBe("a\n");
  });

  test("a read-only tmpfs may hold mounts of its own: it turns read-only after them", () => {
    const b = fx.bundle({ args: ["sh", "-c", "cat /ro/inner/in; grep ' /ro ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1; touch /ro/x"] });
    const shared = hostDir(b);
    writeFileSync(join(shared, "in"), "inner\n");
    b.config.mounts!.push({ destination: "/ro", type: "tmpfs", source: "tmpfs", options: ["ro", "nosuid"] }, bindMount(shared, "/ro/inner"));
    b.writeConfig();
    const r = fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]);
    expect(r.stdout).toBe("inner\nro\n");
    expect(r.stderr).toContain("Read-only file system");
  });

  test("tmpcopyup on a path the image lacks: an empty tmpfs", () => {
    const mounts = [{ destination: "/fresh", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup"] }];
    const out = output({ args: ["sh", "-c", "ls -A /fresh; stat -c %a /fresh"], mutate: (c) => c.mounts!.push(...mounts) });
    expect(out).toBe("1777\n");
  });

  test("bind of a host dir: its files are visible and it is writable", () => {
    const b = fx.bundle({ args: ["sh", "-c", "cat /data/in; echo back > /data/out"] });
    const dir = hostDir(b);
    writeFileSync(join(dir, "in"), "from host\n");
    b.config.mounts!.push(bindMount(dir, "/data"));
    b.writeConfig();
    expect(expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]))).toBe("from host\n");
    expect(readFileSync(join(dir, "out"), "utf8")).toBe("back\n");
  });

  test("a read-only bind cannot be written", () => {
    const b = fx.bundle({ args: ["sh", "-c", "cat /data/in; echo no > /data/out"] });
    const dir = hostDir(b);
    writeFileSync(join(dir, "in"), "readable\n");
    b.config.mounts!.push(bindMount(dir, "/data", ["ro"]));
    b.writeConfig();
    const r = fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).toBe("readable\n");
    expect(r.stderr).toContain("Read-only file system");
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  test("bind of a single file, onto a path that did not exist", () => {
    const b = fx.bundle({ args: ["cat", "/etc/from-host"] });
    const file = join(hostDir(b), "file");
    writeFileSync(file, "one file\n");
    b.config.mounts!.push(bindMount(file, "/etc/from-host", ["ro"]));
    b.writeConfig();
    expect(expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]))).toBe("one file\n");
  });

  test("a relative bind source is taken from the bundle dir", () => {
    const b = fx.bundle({ args: ["cat", "/data/in"] });
    writeFileSync(join(hostDir(b, "src"), "in"), "relative source\n");
    b.config.mounts!.push({ destination: "/data", type: "bind", source: "src", options: ["rbind"] });
    b.writeConfig();
    expect(expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()], { cwd: "/" }))).toBe("relative source\n");
  });

  test("a bind mount may leave out the type", () => {
    const b = fx.bundle({ args: ["sh", "-c", "cat /data/in; touch /data/new"] });
    const dir = hostDir(b);
    writeFileSync(join(dir, "in"), "no type\n");
    b.config.mounts!.push({ destination: "/data", source: dir, options: ["bind", "ro"] });
    b.writeConfig();
    const r = fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]);
    expect(r.stdout).toBe("no type\n");
    expect(r.stderr).toContain("Read-only file system");
  });

  test("a destination with .. stays inside the rootfs", () => {
    const b = fx.bundle({ args: ["cat", "/proc/mounts"] });
    b.config.mounts!.push({ destination: "/../../bunc-escape-test", type: "tmpfs", source: "tmpfs" });
    b.writeConfig();
    const out = expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]));
    expect(mountAt(out, "/bunc-escape-test")!.type).toBe("tmpfs");
    expect(existsSync(join(b.rootfs, "bunc-escape-test"))).toBe(true);
    expect(existsSync("/bunc-escape-test")).toBe(false);
  });

  // An image may hold a dangling absolute symlink where a mount goes (/etc/resolv.conf often
  // is one). It resolves inside the rootfs, and the missing target is made there, as runc does.
  test("a destination through a dangling absolute symlink is made inside the rootfs", () => {
    const b = fx.bundle({ args: ["sh", "-c", "cat /link/in; readlink /link"] });
    const dir = hostDir(b);
    writeFileSync(join(dir, "in"), "through the link\n");
    const hostTarget = join(b.dir, "host-side");
    symlinkSync(hostTarget, join(b.rootfs, "link"));
    b.config.mounts!.push(bindMount(dir, "/link"));
    b.writeConfig();
    expect(expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]))).toBe(`through the link\n${hostTarget}\n`);
    expect(existsSync(hostTarget)).toBe(false);
    expect(existsSync(join(b.rootfs, hostTarget))).toBe(true);
  });

  test("proc, sysfs (read-only), devpts and mqueue are mounted as configured", () => {
    const mounts = mountsInside();
    expect(mountAt(mounts, "/proc")!.type).toBe("proc");
    const sys = mountAt(mounts, "/sys")!;
    expect(sys.type).toBe("sysfs");
    expect(sys.options).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev", "noexec"]));
    const pts = mountAt(mounts, "/dev/pts")!;
    expect(pts.type).toBe("devpts");
    expect(pts.options).toEqual(expect.arrayContaining(["gid=5", "mode=620", "ptmxmode=666"]));
    expect(mountAt(mounts, "/dev/mqueue")!.type).toBe("mqueue");
    expect(mountAt(mounts, "/dev/shm")!.options).toEqual(expect.arrayContaining(["nosuid", "nodev", "noexec", "size=65536k"]));
  });

  test("sysfs mounted read-only cannot be written", () => {
    const r = fx.run({ args: ["sh", "-c", "echo 1 > /sys/kernel/uevent_helper"] });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("Read-only file system");
  });

  test("a mount destination below another mount is created there", () => {
    const mounts = [
      { destination: "/a", type: "tmpfs", source: "tmpfs", options: ["size=1m"] },
      { destination: "/a/b/c", type: "tmpfs", source: "tmpfs", options: ["size=2m"] },
    ];
    const out = mountsInside({ mutate: (c) => c.mounts!.push(...mounts) });
    expect(mountAt(out, "/a")!.options).toContain("size=1024k");
    expect(mountAt(out, "/a/b/c")!.options).toContain("size=2048k");
  });
});

describe("hostname and domainname", () => {
  test("are set from the config", () => {
    const out = output({ args: ["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"], config: { hostname: "box", domainname: "example.org" } });
    expect(out).toBe("box\nexample.org\n");
  });
});

describe("devices", () => {
  test("the default devices are there, with their numbers", () => {
    const out = output({ args: ["sh", "-c", "for d in null zero full random urandom tty; do stat -c '%n %F %t,%T %a' /dev/$d; done"] });
    expect(out.trimEnd().split("\n")).toEqual([
      "/dev/null character special file 1,3 666",
      "/dev/zero character special file 1,5 666",
      "/dev/full character special file 1,7 666",
      "/dev/random character special file 1,8 666",
      "/dev/urandom character special file 1,9 666",
      "/dev/tty character special file 5,0 666",
    ]);
  });

  test("they work: /dev/null swallows, /dev/zero gives zeros, /dev/full is full", () => {
    const r = fx.run({ args: ["sh", "-c", "echo x > /dev/null && head -c 4 /dev/zero | od -An -tx1; echo x > /dev/full"] });
    expect(r.stdout.trim()).toBe("00 00 00 00");
    expect(r.stderr).toContain("No space left on device");
  });

  test("/dev/fd, /dev/stdin, /dev/stdout, /dev/stderr and /dev/ptmx links", () => {
    const out = output({ args: ["sh", "-c", "for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done"] });
    expect(out).toBe("/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\npts/ptmx\n");
  });

  test("a configured device is created", () => {
    const devices = [{ path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o620, uid: 0, gid: 5 }];
    const out = output({ args: ["stat", "-c", "%F %t,%T %a %u %g", "/dev/fuse"], config: { linux: { devices } } });
    expect(out).toBe("character special file a,e5 620 0 5\n");
  });
});

describe("maskedPaths and readonlyPaths", () => {
  // /proc/kcore is not there on every kernel: take the first masked file this host has.
  const maskedFile = ["/proc/kcore", "/proc/timer_list", "/proc/keys"].find((p) => existsSync(p))!;

  test(`a masked file reads empty: ${maskedFile} is /dev/null`, () => {
    const out = output({ args: ["sh", "-c", `wc -c < ${maskedFile}; stat -c '%F %t,%T' ${maskedFile}`] });
    expect(out).toBe("0\ncharacter special file 1,3\n");
  });

  test("a masked directory is empty and read-only", () => {
    const r = fx.run({ args: ["sh", "-c", "ls -A /sys/firmware | wc -l; touch /sys/firmware/x"] });
    expect(r.stdout).toBe("0\n");
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("Read-only file system");
  });

  test("a masked path that does not exist is skipped", () => {
    expect(output({ args: ["true"], mutate: (c) => c.linux!.maskedPaths!.push("/no/such/path") })).toBe("");
  });

  test("/proc/sys is read-only", () => {
    const r = fx.run({ args: ["sh", "-c", "cat /proc/sys/kernel/hostname; echo other > /proc/sys/kernel/hostname"], config: { hostname: "before" } });
    expect(r.stdout).toBe("before\n");
    expect(r.stderr).toContain("Read-only file system");
    expect(mountAt(mountsInside(), "/proc/sys")!.options).toContain("ro");
  });

  // runc writes linux.sysctl before it makes /proc/sys read-only
  test("sysctls are set although /proc/sys is read-only", () => {
    const sysctl = { "net.ipv4.ip_forward": "1", "kernel.shmmni": "1234" };
    const out = output({ args: ["cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni"], config: { linux: { sysctl } } });
    expect(out).toBe("1\n1234\n");
  });

  test("a readonly path is writable when not listed", () => {
    const out = output({
      args: ["sh", "-c", "echo other > /proc/sys/kernel/hostname; hostname"],
      mutate: (c) => {
        c.linux!.readonlyPaths = c.linux!.readonlyPaths!.filter((p) => p !== "/proc/sys");
        c.process.capabilities = { bounding: ["CAP_SYS_ADMIN"], effective: ["CAP_SYS_ADMIN"], permitted: ["CAP_SYS_ADMIN"] };
      },
    });
    expect(out).toBe("other\n");
  });
});
