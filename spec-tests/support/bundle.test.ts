// Self-tests of the test support: bundle builder and TestRuntime bookkeeping. They need no
// bunc binary; the ones that mount or chroot need root.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { linuxSys } from "../../ffi/sys.ts";
import { assertNoLeftovers, processStartTime, TestRuntime } from "./bunc.ts";
import { type Bundle, busyboxPath, deepMerge, defaultConfig, hasInterpreter, makeBundle, mountsUnder, TEMP_PREFIX } from "./bundle.ts";

const isRoot = process.getuid?.() === 0;
const made: Bundle[] = [];
const bundle = (opts?: Parameters<typeof makeBundle>[0]) => {
  const b = makeBundle(opts);
  made.push(b);
  return b;
};
afterEach(() => {
  for (const b of made.splice(0)) b.cleanup();
});

describe("defaultConfig", () => {
  test("is runc's default spec without the cgroup mount and resources", () => {
    const c = defaultConfig();
    expect(c.ociVersion).toBe("1.2.0");
    expect(c.process.terminal).toBe(false);
    expect(c.process.args).toEqual(["sh"]);
    expect(c.process.user).toEqual({ uid: 0, gid: 0 });
    expect(c.process.capabilities?.bounding).toEqual(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    expect(c.process.capabilities?.ambient).toBeUndefined();
    expect(c.process.rlimits).toEqual([{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }]);
    expect(c.root).toEqual({ path: "rootfs", readonly: true });
    expect(c.mounts?.map((m) => m.destination)).toEqual(["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"]);
    expect(c.linux?.namespaces?.map((n) => n.type)).toEqual(["pid", "network", "ipc", "uts", "mount", "cgroup"]);
    expect(c.linux?.resources).toBeUndefined();
    expect(c.linux?.maskedPaths).toContain("/proc/kcore");
    expect(c.linux?.readonlyPaths).toContain("/proc/sys");
  });

  test("returns a fresh object each call", () => {
    const a = defaultConfig();
    a.process.args.push("x");
    a.mounts!.length = 0;
    expect(defaultConfig().process.args).toEqual(["sh"]);
    expect(defaultConfig().mounts).toHaveLength(6);
  });
});

describe("deepMerge", () => {
  test("merges objects, replaces arrays, removes undefined keys", () => {
    const base = { a: { b: 1, c: [1, 2], d: "x" }, e: 1 } as Record<string, unknown>;
    deepMerge(base, { a: { b: 2, c: [3] }, e: undefined, f: { g: true } });
    expect(base).toEqual({ a: { b: 2, c: [3], d: "x" }, f: { g: true } });
  });

  test("does not share the patch's objects", () => {
    const patch = { a: { list: [1] } };
    const base: Record<string, unknown> = {};
    deepMerge(base, patch);
    patch.a.list.push(2);
    expect(base).toEqual({ a: { list: [1] } });
  });
});

describe("busybox", () => {
  test("the host's busybox is static", () => {
    expect(hasInterpreter(readFileSync(busyboxPath()))).toBe(false);
  });

  test("a dynamic executable is told apart", () => {
    expect(hasInterpreter(readFileSync(process.execPath))).toBe(true);
  });
});

describe("makeBundle", () => {
  test("lays out a bundle with a busybox rootfs", () => {
    const b = bundle();
    expect(dirname(b.dir)).toBe(tmpdir());
    expect(basename(b.dir).startsWith(TEMP_PREFIX)).toBe(true);
    expect(JSON.parse(readFileSync(join(b.dir, "config.json"), "utf8"))).toEqual(b.config);

    const busybox = statSync(join(b.rootfs, "bin/busybox"));
    expect(busybox.size).toBe(statSync(busyboxPath()).size);
    expect(busybox.mode & 0o777).toBe(0o755);
    for (const applet of ["sh", "echo", "id", "ps", "hostname", "true", "cat", "sleep"]) {
      expect(readlinkSync(join(b.rootfs, "bin", applet))).toBe("busybox");
    }
    for (const dir of ["proc", "sys", "dev", "tmp", "etc", "root"]) expect(lstatSync(join(b.rootfs, dir)).isDirectory()).toBe(true);
    expect(statSync(join(b.rootfs, "tmp")).mode & 0o7777).toBe(0o1777);
    expect(statSync(join(b.rootfs, "home/user")).uid).toBe(isRoot ? 1000 : process.getuid!());

    const passwd = readFileSync(join(b.rootfs, "etc/passwd"), "utf8");
    expect(passwd).toContain("root:x:0:0:");
    expect(passwd).toContain("user:x:1000:1000:");
    expect(passwd).toContain("nobody:x:65534:65534:");
    expect(readFileSync(join(b.rootfs, "etc/group"), "utf8")).toContain("nogroup:x:65534:");
  });

  test.skipIf(!isRoot)("the rootfs runs: busybox chroot into it", () => {
    const b = bundle();
    const r = Bun.spawnSync([join(b.rootfs, "bin/busybox"), "chroot", b.rootfs, "/bin/sh", "-c", "echo ok; id -u user; id -gn nobody"], {
      env: { PATH: "/bin" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString()).toBe("ok\n1000\nnogroup\n");
  });

  test("args, config merge and mutate apply in that order", () => {
    const b = bundle({
      args: ["/bin/true"],
      config: { hostname: "other", process: { cwd: "/tmp" }, root: { readonly: undefined } },
      mutate: (c) => {
        c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== "network");
        c.process.args.push("x");
      },
    });
    const onDisk = JSON.parse(readFileSync(b.configPath, "utf8"));
    expect(onDisk.process.args).toEqual(["/bin/true", "x"]);
    expect(onDisk.process.cwd).toBe("/tmp");
    expect(onDisk.process.env).toHaveLength(2);
    expect(onDisk.hostname).toBe("other");
    expect(onDisk.root).toEqual({ path: "rootfs" });
    expect(onDisk.linux.namespaces.map((n: { type: string }) => n.type)).not.toContain("network");
  });

  test("writeConfig rewrites config.json", () => {
    const b = bundle();
    b.config.process.args = ["echo", "again"];
    b.writeConfig();
    expect(JSON.parse(readFileSync(b.configPath, "utf8")).process.args).toEqual(["echo", "again"]);
  });

  test("bundles are separate dirs", () => {
    const a = bundle();
    const b = bundle();
    expect(a.dir).not.toBe(b.dir);
    writeFileSync(join(a.rootfs, "etc/marker"), "a");
    expect(existsSync(join(b.rootfs, "etc/marker"))).toBe(false);
  });

  test("extra files, and no busybox when asked", () => {
    const b = bundle({ busybox: false, files: { "/etc/hosts": "127.0.0.1 localhost\n", "opt/run": { content: "#!/bin/sh\n", mode: 0o750 } } });
    expect(existsSync(join(b.rootfs, "bin/busybox"))).toBe(false);
    expect(readFileSync(join(b.rootfs, "etc/hosts"), "utf8")).toBe("127.0.0.1 localhost\n");
    expect(statSync(join(b.rootfs, "opt/run")).mode & 0o777).toBe(0o750);
    expect(() => makeBundle({ files: { "../escape": "x" } })).toThrow(/outside the rootfs/);
  });

  test("cleanup removes the bundle and may be called twice", () => {
    const b = makeBundle();
    b.cleanup();
    expect(existsSync(b.dir)).toBe(false);
    b.cleanup();
  });

  test.skipIf(!isRoot)("cleanup detaches a mount left inside the bundle", () => {
    const b = makeBundle({ busybox: false });
    const target = join(b.rootfs, "proc");
    linuxSys.mount("tmpfs", target, "tmpfs", 0, "size=1m");
    expect(mountsUnder(b.dir)).toEqual([target]);
    expect(() => assertNoLeftovers(join(tmpdir(), "bunc-no-such-dir"))).toThrow(/still mounted/);
    b.cleanup();
    expect(mountsUnder(b.dir)).toEqual([]);
    expect(existsSync(b.dir)).toBe(false);
  });
});

describe("TestRuntime without a binary", () => {
  const saved = process.env.BUNC_TEST_BINARY;
  afterEach(() => {
    if (saved === undefined) delete process.env.BUNC_TEST_BINARY;
    else process.env.BUNC_TEST_BINARY = saved;
  });

  test("ids are unique and tracked; cleanup removes the state dir", () => {
    process.env.BUNC_TEST_BINARY = "/nonexistent/bunc";
    const rt = new TestRuntime();
    const ids = new Set(Array.from({ length: 50 }, () => rt.id()));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^t-[0-9a-f]{12}$/);
    expect(existsSync(rt.root)).toBe(true);
    assertNoLeftovers(rt.root);
    rt.cleanup();
    expect(existsSync(rt.base)).toBe(false);
    rt.cleanup();
  });

  test("a non-empty state dir is a leftover", () => {
    process.env.BUNC_TEST_BINARY = "/nonexistent/bunc";
    const rt = new TestRuntime();
    try {
      mkdirSync(join(rt.root, "t-left"));
      expect(() => assertNoLeftovers(rt.root)).toThrow(/not empty: t-left/);
    } finally {
      rt.cleanup();
    }
  });

  test("cleanup kills a process recorded in a state.json, if it is still the same process", async () => {
    process.env.BUNC_TEST_BINARY = "/nonexistent/bunc";
    const rt = new TestRuntime();
    const sleeper = Bun.spawn([busyboxPath(), "sleep", "60"], { stdio: ["ignore", "ignore", "ignore"] });
    try {
      const id = rt.id();
      mkdirSync(join(rt.root, id));
      writeFileSync(join(rt.root, id, "state.json"), JSON.stringify({ id, pid: sleeper.pid }));
      rt.recordPids();
      expect(processStartTime(sleeper.pid)).toMatch(/^\d+$/);
      expect(rt.livePids()).toEqual([sleeper.pid]);
      expect(() => rt.assertNoLeftovers()).toThrow(/still alive/);
      rt.cleanup();
      expect(await sleeper.exited).toBe(137);
      expect(existsSync(rt.base)).toBe(false);
    } finally {
      sleeper.kill("SIGKILL");
    }
  });
});
