// config-linux.md maskedPaths and readonlyPaths on paths of the test's own rootfs: a masked
// file is the null device bound over it, a masked directory an empty read-only tmpfs, a
// read-only path a recursive read-only bind; for files, directories, nested paths, device
// nodes and symlinks (followed inside the rootfs, never out of it). Checked from inside.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bindMount, containerFixture, expectOk, expectRefused, hostDir } from "./support/assertions.ts";
import type { BundleOptions, RuntimeConfig } from "./support/bundle.ts";
import { expectNothingLeft, withUserns } from "./support/config-checks.ts";

const fx = containerFixture();

/** A writable root, so that only what the test lists is read-only. */
const writableRoot = { root: { readonly: false } };

/** Masks and freezes `masked` and `readonly` on top of the defaults. */
const paths = (masked: string[], readonly: string[] = []) => (c: RuntimeConfig) => {
  c.linux!.maskedPaths!.push(...masked);
  c.linux!.readonlyPaths!.push(...readonly);
};

/** Field lists of the mountinfo lines in `text` (lines of 10 or more fields with " - "). */
const mountinfoOf = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.includes(" - "))
    .map((l) => l.split(" "));

/** The last mountinfo entry at `point`: its root, per-mount options and filesystem type. */
function entryAt(text: string, point: string) {
  const f = mountinfoOf(text)
    .filter((x) => x[4] === point)
    .at(-1);
  if (!f) return undefined;
  const dash = f.indexOf("-");
  return { root: f[3], options: f[5]!.split(","), fstype: f[dash + 1] };
}

const run = (opts: BundleOptions) => fx.run({ ...opts, config: { ...writableRoot, ...opts.config } });

describe("maskedPaths", () => {
  test("a file reads empty, is the null device, and writes do not reach it", () => {
    const b = fx.bundle({
      args: ["sh", "-c", "wc -c < /etc/secret; stat -c '%F %t,%T' /etc/secret; echo overwritten > /etc/secret && echo written"],
      files: { "etc/secret": "top secret\n" },
      config: writableRoot,
      mutate: paths(["/etc/secret"]),
    });
    expect(expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]))).toBe("0\ncharacter special file 1,3\nwritten\n");
    expect(readFileSync(join(b.rootfs, "etc/secret"), "utf8")).toBe("top secret\n");
  });

  test("a directory is an empty read-only tmpfs", () => {
    const r = run({
      args: ["sh", "-c", "ls -A /data | wc -l; cat /proc/self/mountinfo; touch /data/new"],
      files: { "data/inside": "hidden\n", "data/sub/deeper": "hidden too\n" },
      mutate: paths(["/data"]),
    });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("Read-only file system");
    expect(r.stdout.split("\n")[0]).toBe("0");
    const e = entryAt(r.stdout, "/data")!;
    expect(e.fstype).toBe("tmpfs");
    expect(e.options).toContain("ro");
  });

  test("a masked file and directory below a read-only directory", () => {
    const r = run({
      args: ["sh", "-c", "wc -c < /data/inner/secret; ls -A /data/hidden | wc -l; cat /data/open; touch /data/new"],
      files: { "data/inner/secret": "secret\n", "data/hidden/file": "hidden\n", "data/open": "readable\n" },
      mutate: paths(["/data/inner/secret", "/data/hidden"], ["/data"]),
    });
    expect(r.stdout).toBe("0\n0\nreadable\n");
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("Read-only file system");
  });

  test("a device node from linux.devices becomes the null device", () => {
    const devices = [{ path: "/dev/kmsg-like", type: "c", major: 1, minor: 11, fileMode: 0o644 }];
    const out = expectOk(run({ args: ["stat", "-c", "%F %t,%T", "/dev/kmsg-like"], config: { linux: { devices } }, mutate: paths(["/dev/kmsg-like"]) }));
    expect(out).toBe("character special file 1,3\n");
  });

  test("a symlink is followed inside the rootfs: its target is masked", () => {
    const b = fx.bundle({
      args: ["sh", "-c", "wc -c < /etc/target; readlink /etc/link; ls -A /etc/target-dir | wc -l; wc -c < /etc/up-target"],
      files: { "etc/target": "secret\n", "etc/target-dir/file": "secret\n", "etc/up-target": "secret\n" },
      config: writableRoot,
      mutate: paths(["/etc/link", "/etc/dir-link", "/etc/up-link"]),
    });
    symlinkSync("/etc/target", join(b.rootfs, "etc/link"));
    symlinkSync("/etc/target-dir", join(b.rootfs, "etc/dir-link"));
    // climbs above the root: resolved in the rootfs it stops at its top
    symlinkSync("../../../../../../etc/up-target", join(b.rootfs, "etc/up-link"));
    expect(expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]))).toBe("0\n/etc/target\n0\n0\n");
  });

  test("a symlink to a host path resolves to that path inside the rootfs, not the host's", () => {
    const b = fx.bundle({ config: writableRoot });
    // the same absolute path exists on the host (outside the rootfs) and inside it
    const hostFile = join(b.dir, "outside");
    writeFileSync(hostFile, "host side\n");
    mkdirSync(join(b.rootfs, b.dir), { recursive: true });
    writeFileSync(join(b.rootfs, hostFile), "rootfs side\n");
    symlinkSync(hostFile, join(b.rootfs, "etc/escape"));
    b.config.process.args = ["sh", "-c", `wc -c < ${hostFile}; stat -c '%F' ${hostFile}`];
    b.config.linux!.maskedPaths!.push("/etc/escape");
    b.writeConfig();
    expect(expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]))).toBe("0\ncharacter special file\n");
    expect(readFileSync(hostFile, "utf8")).toBe("host side\n");
  });

  test("a dangling symlink is skipped like a missing path", () => {
    const b = fx.bundle({ args: ["readlink", "/etc/dangling"], config: writableRoot, mutate: paths(["/etc/dangling"]) });
    symlinkSync("/no/such/target", join(b.rootfs, "etc/dangling"));
    expect(expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]))).toBe("/no/such/target\n");
  });

  test("a file is not masked with a /dev/null that is not the null device", () => {
    const b = fx.bundle({ args: ["true"], config: writableRoot, files: { "etc/secret": "secret\n" } });
    const fakeDev = hostDir(b, "fake-dev");
    writeFileSync(join(fakeDev, "null"), "not a device\n");
    b.config.mounts = b.config.mounts!.filter((m) => !m.destination.startsWith("/dev")).concat(bindMount(fakeDev, "/dev"));
    b.config.linux!.maskedPaths = ["/etc/secret"];
    b.writeConfig();
    const id = fx.rt.id();
    expectRefused(fx.rt.bunc(["run", "--bundle", b.dir, id]), "maskedPaths", "/dev/null");
    expectRefused(fx.rt.bunc(["state", id]), id);
    expectNothingLeft(fx.rt);
  });
});

describe("readonlyPaths", () => {
  test("a file is read-only, its neighbours are not", () => {
    const r = run({
      args: ["sh", "-c", "cat /etc/frozen; echo ok > /etc/other && echo other-written; echo no > /etc/frozen"],
      files: { "etc/frozen": "frozen\n" },
      mutate: paths([], ["/etc/frozen"]),
    });
    expect(r.stdout).toBe("frozen\nother-written\n");
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("Read-only file system");
  });

  test("a directory is read-only recursively: a mount below it is read-only too", () => {
    const r = run({
      args: ["sh", "-c", "cat /proc/self/mountinfo; touch /data/a 2>&1; touch /data/sub/b 2>&1; echo done"],
      files: { "data/file": "x\n" },
      mutate: (c) => {
        c.mounts!.push({ destination: "/data/sub", type: "tmpfs", source: "tmpfs", options: ["size=1m"] });
        paths([], ["/data"])(c);
      },
    });
    expectOk(r);
    expect(entryAt(r.stdout, "/data")!.options).toContain("ro");
    const sub = entryAt(r.stdout, "/data/sub")!;
    expect(sub.fstype).toBe("tmpfs");
    expect(sub.options).toContain("ro");
    expect(r.stdout).toMatch(/touch: \/data\/a: Read-only file system\ntouch: \/data\/sub\/b: Read-only file system\ndone\n$/);
  });

  test("a device node: its mount is read-only, reading and writing the device still work", () => {
    const devices = [{ path: "/dev/ro-null", type: "c", major: 1, minor: 3, fileMode: 0o666 }];
    const r = run({
      args: ["sh", "-c", "grep ' /dev/ro-null ' /proc/self/mountinfo; echo x > /dev/ro-null && echo device-written; chmod 600 /dev/ro-null"],
      config: { linux: { devices } },
      mutate: paths([], ["/dev/ro-null"]),
    });
    expect(entryAt(r.stdout, "/dev/ro-null")!.options).toContain("ro");
    expect(r.stdout).toContain("device-written\n");
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("Read-only file system");
  });

  test("a symlink is followed inside the rootfs: its target is read-only", () => {
    const b = fx.bundle({ args: ["sh", "-c", "echo no > /etc/target"], config: writableRoot, files: { "etc/target": "x\n" }, mutate: paths([], ["/etc/link"]) });
    symlinkSync("/etc/target", join(b.rootfs, "etc/link"));
    const r = fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("Read-only file system");
    expect(readFileSync(join(b.rootfs, "etc/target"), "utf8")).toBe("x\n");
  });
});

describe("in a user namespace", () => {
  test("a masked file and directory, and a read-only directory with a submount", () => {
    const r = fx.run({
      args: ["sh", "-c", "wc -c < /etc/secret; stat -c '%F %t,%T' /etc/secret; ls -A /hidden | wc -l; touch /frozen/sub/x 2>&1; touch /frozen/x 2>&1; echo done"],
      // the mapped root may not create dirs in a rootfs owned by the host's root
      files: { "etc/secret": "secret\n", "hidden/file": "hidden\n", "frozen/file": "x\n", "frozen/sub/.keep": "" },
      mutate: (c) => {
        withUserns(c);
        c.root.readonly = false;
        c.mounts!.push({ destination: "/frozen/sub", type: "tmpfs", source: "tmpfs", options: ["size=1m"] });
        paths(["/etc/secret", "/hidden"], ["/frozen"])(c);
      },
    });
    expect(expectOk(r)).toBe(
      "0\ncharacter special file 1,3\n0\ntouch: /frozen/sub/x: Read-only file system\ntouch: /frozen/x: Read-only file system\ndone\n",
    );
  });
});
