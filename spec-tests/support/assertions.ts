// Small helpers shared by the conformance tests: a per-test fixture (own TestRuntime, own
// bundles, cleaned up even when the test fails), /proc parsing, capability masks, a bounded
// poll, and the checks every refused command gets (non-zero, message, nothing left behind).
//
//   const fx = containerFixture();
//   test("…", () => {
//     const r = fx.run({ args: ["id", "-u"] });
//     expect(r.exitCode).toBe(0);
//   });
import { afterEach, beforeEach, expect, setDefaultTimeout } from "bun:test";
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { type BuncResult, TestRuntime } from "./bunc.ts";
import { type Bundle, type BundleOptions, makeBundle, mountsUnder } from "./bundle.ts";

export interface ContainerFixture {
  /** This test's runtime (its own --root); a fresh one for every test. */
  readonly rt: TestRuntime;
  /** A bundle removed after the test. */
  bundle(opts?: BundleOptions): Bundle;
  /** A bundle plus `run` in the foreground with a fresh id. */
  run(opts?: BundleOptions, runArgs?: string[]): BuncResult;
}

/** Registers beforeEach/afterEach: each test gets its own TestRuntime and bundles, deleted
 *  afterwards (containers first, then bundles) whether the test passed or not. */
export function containerFixture(): ContainerFixture {
  // Containers take a few hundred ms each, and a test may run several or wait up to 10 s.
  setDefaultTimeout(30_000);
  let current: TestRuntime | undefined;
  const bundles: Bundle[] = [];
  beforeEach(() => {
    current = new TestRuntime();
  });
  afterEach(() => {
    const rt = current;
    current = undefined;
    const dirs = [...(rt ? [rt.base] : []), ...bundles.map((b) => b.dir)];
    try {
      rt?.cleanup();
    } finally {
      // Anything still holding the state dir or a bundle (cwd, root, exe or an open fd) was
      // missed by `delete -f`: kill it so later tests start clean, then fail this test.
      const stray = processesUsing(dirs);
      for (const p of stray) {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {}
      }
      // only this test's dirs: other runs on the machine may have mounts of their own
      const mounts = dirs.flatMap((d) => mountsUnder(d));
      for (const b of bundles.splice(0)) b.cleanup();
      if (stray.length > 0 || mounts.length > 0) {
        throw new Error(`leftovers after cleanup: ${JSON.stringify({ stray, mounts })}`);
      }
      assertHostDevNullIntact();
    }
  });
  const fx: ContainerFixture = {
    get rt() {
      if (!current) throw new Error("containerFixture: used outside a test");
      return current;
    },
    bundle(opts) {
      const b = makeBundle(opts);
      bundles.push(b);
      return b;
    },
    run(opts, runArgs = []) {
      const b = fx.bundle(opts);
      return fx.rt.bunc(["run", ...runArgs, "--bundle", b.dir, fx.rt.id()]);
    },
  };
  return fx;
}

/** A host dir inside the bundle (so it goes with it), to bind into the container. */
export function hostDir(b: Bundle, name = "shared"): string {
  const dir = join(b.dir, name);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777); // writable by a container's root mapped to another host uid
  return dir;
}

/** A read-write bind mount entry of `source` at `destination`. */
export const bindMount = (source: string, destination: string, extra: string[] = []) => ({
  destination,
  type: "bind",
  source,
  options: ["rbind", ...extra],
});

/** Fields of a /proc/<pid>/status text, by name. */
export function procStatus(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return fields;
}

/** Capability numbers (linux/capability.h), written out here so the tests do not share the
 *  runtime's table. */
export const CAP_NUMBERS: Record<string, number> = Object.fromEntries(
  [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    "CHECKPOINT_RESTORE",
  ].map((name, i) => [`CAP_${name}`, i]),
);

/** The 16-hex-digit mask /proc/self/status shows for a set of capability names. */
export function capMask(names: string[] = []): string {
  let mask = 0n;
  for (const name of names) {
    const n = CAP_NUMBERS[name];
    if (n === undefined) throw new Error(`capMask: unknown capability ${name}`);
    mask |= 1n << BigInt(n);
  }
  return mask.toString(16).padStart(16, "0");
}

/** Polls `check` every 20 ms until it returns a truthy value or `timeoutMs` passes. */
export function waitFor<T>(check: () => T, what: string, timeoutMs = 10_000): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    Bun.sleepSync(20);
  }
}

/** Reads a file, or "" when it is not there (yet). */
export function readOr(path: string, fallback = ""): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}

/** The namespace link (`net:[4026531840]`) of a process, e.g. nsLink("self", "net"). */
export const nsLink = (pid: number | "self", name: string) => readlinkSync(`/proc/${pid}/ns/${name}`);

/** True while `pid` exists and is not a zombie. */
export function isLiveProcess(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Parses `bunc state` output; fails the test with bunc's stderr when it did not succeed. */
export function stateOf(r: BuncResult): { id: string; status: string; pid: number; bundle: string; [k: string]: unknown } {
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  return JSON.parse(r.stdout);
}

/** A refused command: non-zero exit, and stderr matching each of `patterns` (a string is
 *  matched literally). */
export function expectRefused(r: BuncResult, ...patterns: (string | RegExp)[]): void {
  expect(r.timedOut).toBe(false);
  expect(r.exitCode).not.toBe(0);
  expect(r.exitCode).not.toBeNull();
  for (const p of patterns) {
    if (typeof p === "string") expect(r.stderr).toContain(p);
    else expect(r.stderr).toMatch(p);
  }
}

/** A command that succeeded with nothing on stderr; returns stdout. */
export function expectOk(r: BuncResult): string {
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  return r.stdout;
}

/** Live processes (other than this one) using one of `dirs`: their cwd, root, exe or an open
 *  fd is at or below one of them, or, for a process in another mount namespace (where those
 *  links read as container paths), its root mount comes from one of them. A container or
 *  stage left running from this test shows up here. */
export function processesUsing(dirs: string[]): { pid: number; link: string }[] {
  const hits: { pid: number; link: string }[] = [];
  const inside = (target: string) => dirs.some((d) => target === d || target.startsWith(`${d}/`));
  // the root field of mountinfo is relative to the filesystem's own root: match on the
  // unique temp dir names (bunc-test-XXXXXX) instead of whole paths
  const names = dirs.map((d) => `/${basename(d)}`);
  const fromDirs = (root: string) => names.some((n) => root.endsWith(n) || root.includes(`${n}/`));
  const ownMnt = nsLink("self", "mnt");
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid || !isLiveProcess(pid)) continue;
    const links = [`/proc/${pid}/cwd`, `/proc/${pid}/root`, `/proc/${pid}/exe`];
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) links.push(`/proc/${pid}/fd/${fd}`);
    } catch {
      // gone, or a kernel thread
    }
    let hit = links.map((link) => [link, readlinkOr(link)] as const).find(([, target]) => target !== undefined && inside(target));
    if (!hit && readlinkOr(`/proc/${pid}/ns/mnt`) !== ownMnt) {
      const rootMount = readOr(`/proc/${pid}/mountinfo`)
        .split("\n")
        .map((l) => l.split(" "))
        .find((f) => f[4] === "/");
      if (rootMount && fromDirs(rootMount[3]!)) hit = [`/proc/${pid}/mountinfo`, `root mount ${rootMount[3]}`];
    }
    if (hit) hits.push({ pid, link: `${hit[0]} -> ${hit[1]}` });
  }
  return hits;
}

/** readlink, or undefined when the link is not there (or not readable). */
export function readlinkOr(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The host's /dev/null must still be char 1:3, mode 0666: device binds, masks and copies
 * all handle it, and a chmod or chown that lands on the host's node instead of the
 * container's would break every program on the machine. Put back, then fail the test.
 */
export function assertHostDevNullIntact(): void {
  const st = statSync("/dev/null");
  const mode = st.mode & 0o7777;
  const ok = st.isCharacterDevice() && st.rdev === 0x103 && mode === 0o666 && st.uid === 0 && st.gid === 0;
  if (ok) return;
  try {
    chmodSync("/dev/null", 0o666);
    chownSync("/dev/null", 0, 0);
  } catch {}
  throw new Error(`the host's /dev/null was changed: mode ${mode.toString(8)}, owner ${st.uid}:${st.gid}, rdev ${st.rdev}`);
}
