// OCI bundles for runtime tests: a busybox rootfs built from Debian's busybox-static and a
// config.json in the shape of `runc spec`, minus the cgroup mount and linux.resources.
//
//   const b = makeBundle({ args: ["sh", "-c", "echo hi"], config: { process: { terminal: false } } });
//   ... run containers on b.dir ...
//   b.cleanup();
//
// Every bundle is its own temp dir (`bunc-test-*` under os.tmpdir()), so a test may change
// its rootfs and config freely. Only the busybox bytes and applet list are cached per process.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { MNT_DETACH } from "../../ffi/constants.ts";
import { linuxSys } from "../../ffi/sys.ts";

/** Prefix of every temp dir the test support makes; leftover checks look under it. */
export const TEMP_PREFIX = "bunc-test-";

/** Debian's busybox-static installs here. `BUNC_TEST_BUSYBOX` may name another static busybox. */
export const busyboxPath = () => process.env.BUNC_TEST_BUSYBOX || "/bin/busybox";

/** The users and groups in the rootfs's /etc/passwd and /etc/group. */
export const USERS = {
  root: { uid: 0, gid: 0, home: "/root" },
  user: { uid: 1000, gid: 1000, home: "/home/user" },
  nobody: { uid: 65534, gid: 65534, home: "/nonexistent" },
} as const;

const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "user:x:1000:1000:user:/home/user:/bin/sh",
  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false",
  "",
].join("\n");

const GROUP = ["root:x:0:", "tty:x:5:", "users:x:100:user", "user:x:1000:", "nogroup:x:65534:", ""].join("\n");

// A runtime config, loosely typed: tests set fields the schema of the day may not know.
export type RuntimeConfig = {
  ociVersion: string;
  process: {
    terminal?: boolean;
    user: { uid: number; gid: number; additionalGids?: number[]; umask?: number };
    args: string[];
    env?: string[];
    cwd: string;
    capabilities?: Partial<Record<"bounding" | "effective" | "permitted" | "inheritable" | "ambient", string[]>>;
    rlimits?: { type: string; soft: number; hard: number }[];
    noNewPrivileges?: boolean;
    [key: string]: unknown;
  };
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts?: { destination: string; type?: string; source?: string; options?: string[] }[];
  linux?: {
    namespaces?: { type: string; path?: string }[];
    maskedPaths?: string[];
    readonlyPaths?: string[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

export type DeepPartial<T> = T extends unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

export interface BundleOptions {
  /** process.args (default ["sh"]). */
  args?: string[];
  /** Merged into the default config: objects merge key by key, arrays and scalars replace,
   *  and a key set to `undefined` is removed. */
  config?: DeepPartial<RuntimeConfig> & Record<string, unknown>;
  /** Called last with the config object, to change it in place. */
  mutate?: (config: RuntimeConfig) => void;
  /** Put busybox and its applets in rootfs/bin (default true). */
  busybox?: boolean;
  /** Extra files in the rootfs: path relative to rootfs → content (mode 0644) or {content, mode}. */
  files?: Record<string, string | Uint8Array | { content: string | Uint8Array; mode: number }>;
}

export interface Bundle {
  /** The bundle dir: pass it as `--bundle`. */
  readonly dir: string;
  readonly rootfs: string;
  readonly configPath: string;
  /** The config as written. Change it and call writeConfig() to rewrite config.json. */
  config: RuntimeConfig;
  writeConfig(config?: RuntimeConfig): void;
  /** Unmounts anything left mounted below the bundle, then removes it. Safe to call twice. */
  cleanup(): void;
}

/** `runc spec`'s default config (runtime-spec 1.2.0), without the /sys/fs/cgroup mount and
 *  without linux.resources; the cgroup namespace is in the list. A fresh object each call. */
export function defaultConfig(): RuntimeConfig {
  const caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
  return {
    ociVersion: "1.2.0",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "bunc",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
      },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    ],
    linux: {
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "cgroup" }],
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** Merges `patch` into `base` in place: objects key by key, arrays and scalars replace,
 *  `undefined` removes the key. Returns `base`. */
export function deepMerge<T extends Record<string, unknown>>(base: T, patch: Record<string, unknown>): T {
  const target = base as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete target[key];
    else if (isPlainObject(value) && isPlainObject(target[key])) deepMerge(target[key] as Record<string, unknown>, value);
    else target[key] = structuredClone(value);
  }
  return base;
}

interface Busybox {
  bytes: Buffer;
  applets: string[];
}
let busyboxCache: Busybox | undefined;

/** Reads the static busybox and its applet list once per process. */
export function loadBusybox(): Busybox {
  if (busyboxCache) return busyboxCache;
  const path = busyboxPath();
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`test rootfs: cannot read ${path} (${(err as Error).message}): install Debian's busybox-static`);
  }
  if (hasInterpreter(bytes)) {
    throw new Error(`test rootfs: ${path} is dynamically linked and cannot run in a bare rootfs: install busybox-static`);
  }
  const r = Bun.spawnSync([path, "--list"], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  if (r.exitCode !== 0) throw new Error(`test rootfs: ${path} --list failed: ${r.stderr.toString().trim()}`);
  const applets = r.stdout
    .toString()
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s !== "" && s !== "busybox" && !s.includes("/"));
  busyboxCache = { bytes, applets };
  return busyboxCache;
}

/** True when an ELF file has a PT_INTERP program header, i.e. needs a dynamic loader. */
export function hasInterpreter(elf: Uint8Array): boolean {
  if (elf.length < 52 || elf[0] !== 0x7f || elf[1] !== 0x45 || elf[2] !== 0x4c || elf[3] !== 0x46) {
    throw new Error("test rootfs: busybox is not an ELF file");
  }
  const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const is64 = elf[4] === 2;
  const le = elf[5] === 1;
  const phoff = is64 ? Number(dv.getBigUint64(0x20, le)) : dv.getUint32(0x1c, le);
  const phentsize = dv.getUint16(is64 ? 0x36 : 0x2a, le);
  const phnum = dv.getUint16(is64 ? 0x38 : 0x2c, le);
  const PT_INTERP = 3;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > elf.length) break;
    if (dv.getUint32(at, le) === PT_INTERP) return true;
  }
  return false;
}

/** Fills `rootfs` with the skeleton dirs, /etc/passwd and /etc/group, and (unless told not
 *  to) busybox with one symlink per applet in /bin. */
export function buildRootfs(rootfs: string, withBusybox = true): void {
  mkdirSync(rootfs, { recursive: true, mode: 0o755 });
  chmodSync(rootfs, 0o755);
  for (const dir of ["bin", "proc", "sys", "dev", "etc", "home"]) mkdirSync(join(rootfs, dir), { mode: 0o755 });
  mkdirSync(join(rootfs, "tmp"));
  chmodSync(join(rootfs, "tmp"), 0o1777);
  mkdirSync(join(rootfs, "root"), { mode: 0o700 });
  mkdirSync(join(rootfs, "home/user"), { mode: 0o755 });
  chownSync(join(rootfs, "home/user"), USERS.user.uid, USERS.user.gid);
  writeFileSync(join(rootfs, "etc/passwd"), PASSWD, { mode: 0o644 });
  writeFileSync(join(rootfs, "etc/group"), GROUP, { mode: 0o644 });
  if (!withBusybox) return;
  const { bytes, applets } = loadBusybox();
  writeFileSync(join(rootfs, "bin/busybox"), bytes, { mode: 0o755 });
  chmodSync(join(rootfs, "bin/busybox"), 0o755);
  for (const applet of applets) symlinkSync("busybox", join(rootfs, "bin", applet));
}

export function makeBundle(opts: BundleOptions = {}): Bundle {
  const dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  // Reachable by any uid: a container with a user namespace mounts its rootfs as mapped root.
  chmodSync(dir, 0o755);
  try {
    const rootfs = join(dir, "rootfs");
    buildRootfs(rootfs, opts.busybox ?? true);
    for (const [path, spec] of Object.entries(opts.files ?? {})) {
      const target = resolve(rootfs, path.replace(/^\/+/, ""));
      if (relative(rootfs, target).startsWith("..")) throw new Error(`makeBundle: file ${path} is outside the rootfs`);
      const { content, mode } = typeof spec === "string" || spec instanceof Uint8Array ? { content: spec, mode: 0o644 } : spec;
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content, { mode });
      chmodSync(target, mode);
    }

    const config = defaultConfig();
    if (opts.args) config.process.args = [...opts.args];
    if (opts.config) deepMerge(config, opts.config as Record<string, unknown>);
    opts.mutate?.(config);

    const configPath = join(dir, "config.json");
    const bundle: Bundle = {
      dir,
      rootfs,
      configPath,
      config,
      writeConfig(next = bundle.config) {
        bundle.config = next;
        writeFileSync(configPath, `${JSON.stringify(next, null, "\t")}\n`);
      },
      cleanup: () => removeTree(dir),
    };
    bundle.writeConfig();
    return bundle;
  } catch (err) {
    removeTree(dir);
    throw err;
  }
}

/** Decodes the octal escapes (\040 …) of /proc/self/mountinfo. */
const unescapeMountPath = (s: string) => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** Mount points of this process's mount namespace that are `path` or below it, deepest first. */
export function mountsUnder(path: string): string[] {
  const base = path.replace(/\/+$/, "");
  const found: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const field = line.split(" ")[4];
    if (field === undefined) continue;
    const mountPoint = unescapeMountPath(field);
    if (mountPoint === base || mountPoint.startsWith(`${base}/`)) found.push(mountPoint);
  }
  return found.sort((a, b) => b.length - a.length);
}

/** Mount points below os.tmpdir() in a test-support temp dir (`bunc-test-*`). */
export function testTempMounts(): string[] {
  return mountsUnder(tmpdir()).filter((m) => relative(tmpdir(), m).startsWith(TEMP_PREFIX));
}

/** rm -rf that never crosses into a mount: what is mounted below `path` is detached first,
 *  and if anything is still mounted there, nothing is removed and an error says what. */
export function removeTree(path: string): void {
  for (const mountPoint of mountsUnder(path)) {
    try {
      linuxSys.umount(mountPoint, MNT_DETACH);
    } catch {
      // reported below if it is still there
    }
  }
  const still = mountsUnder(path);
  if (still.length > 0) throw new Error(`not removing ${path}: still mounted below it: ${still.join(", ")}`);
  rmSync(path, { recursive: true, force: true });
}
