// Runs the compiled bunc for runtime tests, each test file with its own state dir.
//
//   const rt = new TestRuntime();
//   afterAll(() => rt.cleanup());
//   const id = rt.id();
//   const r = rt.bunc(["run", "--bundle", bundle.dir, id]);
//   expect(r.exitCode).toBe(0);
//   rt.assertNoLeftovers();
//
// Output goes through files, not pipes: a container started by `create` inherits the
// caller's stdio and would hold a pipe open long after bunc itself has exited.
// `BUNC_TEST_BINARY` runs the same tests against another runtime (say, runc) for comparison.
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { mountsUnder, removeTree, TEMP_PREFIX, testTempMounts } from "./bundle.ts";

export const REPO_ROOT = resolve(import.meta.dir, "../..");

/** The binary under test: dist/bunc, or `BUNC_TEST_BINARY` (a path, or a name on PATH). */
export function buncPath(): string {
  const override = process.env.BUNC_TEST_BINARY;
  if (!override) return join(REPO_ROOT, "dist/bunc");
  if (override.includes("/")) return resolve(override);
  const found = Bun.which(override);
  if (!found) throw new Error(`BUNC_TEST_BINARY=${override} is not on PATH`);
  return found;
}

export interface BuncOptions {
  /** State dir passed as `--root` before the arguments; `null` passes none. */
  root?: string | null;
  cwd?: string;
  /** Added to the minimal environment bunc gets (PATH only). */
  env?: Record<string, string>;
  /** Bytes for bunc's stdin (default: /dev/null). */
  stdin?: string | Uint8Array;
  /** Kill bunc with SIGKILL after this long (default 30 s). */
  timeoutMs?: number;
}

export interface BuncResult {
  /** null when bunc was killed by a signal (see `signal`). */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Files that got stdout and stderr: a container started by this call may write more later. */
  stdoutFile: string;
  stderrFile: string;
  argv: string[];
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const randomHex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or undefined when
 *  the process is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Process state letter from /proc/<pid>/stat (R, S, Z, …), or undefined when gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

const isLive = (pid: number) => {
  const s = processState(pid);
  return s !== undefined && s !== "Z" && s !== "X";
};

/** A pid and start time read from a container's state, under whatever names it uses. */
function pidOfState(state: Record<string, unknown>): { pid?: number; start?: string } {
  const pid = [state.pid, state.init_process_pid].find((v): v is number => typeof v === "number" && v > 0);
  const start = [state.startTime, state.start_time, state.pidStartTime, state.init_process_start].find(
    (v) => (typeof v === "number" && v > 0) || (typeof v === "string" && /^\d+$/.test(v)),
  );
  return { pid, start: start === undefined ? undefined : String(start) };
}

export class TestRuntime {
  /** Temp dir holding the state dir and the captured output. */
  readonly base: string;
  /** The state dir passed as `--root`. */
  readonly root: string;
  private readonly io: string;
  private calls = 0;
  private readonly ids = new Set<string>();
  /** pid → /proc start time, seen in the state of a container this runtime made. */
  private readonly pids = new Map<number, string | undefined>();

  constructor() {
    this.base = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}rt-`));
    this.root = join(this.base, "state");
    this.io = join(this.base, "io");
    mkdirSync(this.root, { mode: 0o700 });
    mkdirSync(this.io);
  }

  /** A fresh container id (`t-<random>`), remembered for cleanup. */
  id(prefix = "t"): string {
    const id = `${prefix}-${randomHex(6)}`;
    this.ids.add(id);
    return id;
  }

  /** Remember an id the test made up itself, so cleanup deletes it too. */
  track(id: string): string {
    this.ids.add(id);
    return id;
  }

  /** Runs bunc with `--root <this state dir>` and waits for it. */
  bunc(args: string[], opts: BuncOptions = {}): BuncResult {
    const n = ++this.calls;
    const stdoutFile = join(this.io, `${n}.out`);
    const stderrFile = join(this.io, `${n}.err`);
    const outFd = openSync(stdoutFile, "w+");
    const errFd = openSync(stderrFile, "w+");
    const root = opts.root === undefined ? this.root : opts.root;
    const argv = [buncPath(), ...(root === null ? [] : ["--root", root]), ...args];
    try {
      const r = Bun.spawnSync(argv, {
        cwd: opts.cwd ?? this.base,
        env: { PATH: process.env.PATH ?? DEFAULT_PATH, ...opts.env },
        stdin: opts.stdin === undefined ? "ignore" : typeof opts.stdin === "string" ? Buffer.from(opts.stdin) : opts.stdin,
        stdout: outFd,
        stderr: errFd,
        timeout: opts.timeoutMs ?? 30_000,
        killSignal: "SIGKILL",
      });
      return {
        exitCode: r.exitCode,
        signal: r.signalCode == null ? null : String(r.signalCode),
        stdout: readFileSync(stdoutFile, "utf8"),
        stderr: readFileSync(stderrFile, "utf8"),
        timedOut: r.exitedDueToTimeout ?? false,
        stdoutFile,
        stderrFile,
        argv,
      };
    } finally {
      closeSync(outFd);
      closeSync(errFd);
      this.recordPids();
    }
  }

  /** Starts bunc with `--root <this state dir>` without waiting: for `run` of a long-lived
   *  container, or anything the test must talk to while it runs. Await `.exited`. */
  spawn(args: string[], opts: Omit<BuncOptions, "timeoutMs"> & { stdout?: "pipe" | "ignore" | "inherit"; stderr?: "pipe" | "ignore" | "inherit" } = {}) {
    const root = opts.root === undefined ? this.root : opts.root;
    return Bun.spawn([buncPath(), ...(root === null ? [] : ["--root", root]), ...args], {
      cwd: opts.cwd ?? this.base,
      env: { PATH: process.env.PATH ?? DEFAULT_PATH, ...opts.env },
      stdin: opts.stdin === undefined ? "ignore" : typeof opts.stdin === "string" ? Buffer.from(opts.stdin) : opts.stdin,
      stdout: opts.stdout ?? "pipe",
      stderr: opts.stderr ?? "pipe",
    });
  }

  /** Container dirs in the state dir, which may include ids the test never tracked. */
  private stateIds(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((e) => e.isDirectory() && e.name !== "@cache")
        .map((e) => e.name);
    } catch {
      return [];
    }
  }

  /** Notes the pid (and its start time) of every container in the state dir. */
  recordPids(): void {
    for (const id of this.stateIds()) {
      let state: Record<string, unknown>;
      try {
        state = JSON.parse(readFileSync(join(this.root, id, "state.json"), "utf8"));
      } catch {
        continue;
      }
      const { pid, start } = pidOfState(state);
      if (pid === undefined) continue;
      if (!this.pids.has(pid) || (this.pids.get(pid) === undefined && start !== undefined)) {
        this.pids.set(pid, start ?? processStartTime(pid));
      }
    }
  }

  /** Deletes every container this runtime made (`delete -f`), kills any of their processes
   *  still alive, and removes the state dir. Safe to call twice. */
  cleanup(): void {
    if (!existsSync(this.base)) return;
    this.recordPids();
    const present = new Set(this.stateIds());
    for (const id of new Set([...this.ids, ...present])) {
      try {
        const r = this.bunc(["state", id], { timeoutMs: 10_000 });
        try {
          const { pid } = pidOfState(JSON.parse(r.stdout));
          if (pid !== undefined && !this.pids.has(pid)) this.pids.set(pid, processStartTime(pid));
        } catch {
          // no such container, or no JSON: nothing to learn
        }
        if (r.exitCode === 0 || present.has(id)) this.bunc(["delete", "-f", id], { timeoutMs: 10_000 });
      } catch {
        // the binary is missing or would not start: the kill below still runs
      }
    }
    this.killRecorded();
    removeTree(this.base);
  }

  /** SIGKILLs each recorded pid that is still the same process (same start time), and
   *  waits up to 5 s for it to go. */
  private killRecorded(): void {
    const killed: number[] = [];
    for (const [pid, start] of this.pids) {
      if (!isLive(pid) || start === undefined || processStartTime(pid) !== start) continue;
      try {
        process.kill(pid, "SIGKILL");
        killed.push(pid);
      } catch {
        // gone meanwhile
      }
    }
    const deadline = Date.now() + 5_000;
    while (killed.some(isLive) && Date.now() < deadline) Bun.sleepSync(10);
  }

  /** Recorded container processes that are still alive. */
  livePids(): number[] {
    return [...this.pids].filter(([pid, start]) => isLive(pid) && (start === undefined || processStartTime(pid) === start)).map(([pid]) => pid);
  }

  /** Throws unless the state dir is empty, nothing is mounted under the test temp dirs,
   *  no container process is alive and no cgroup is named after a container id. */
  assertNoLeftovers(): void {
    this.recordPids();
    const problems: string[] = [];
    try {
      assertNoLeftovers(this.root);
    } catch (err) {
      problems.push((err as Error).message);
    }
    const live = this.livePids();
    if (live.length > 0) problems.push(`container processes still alive: ${live.join(", ")}`);
    const cgroups = cgroupsNamed([...this.ids]);
    if (cgroups.length > 0) problems.push(`cgroups left: ${cgroups.join(", ")}`);
    if (problems.length > 0) throw new Error(`leftovers: ${problems.join("; ")}`);
  }
}

/** Throws unless `stateRoot` is empty (or absent) and nothing is mounted under it or under
 *  any test temp dir (`bunc-test-*`). */
export function assertNoLeftovers(stateRoot: string): void {
  const problems: string[] = [];
  if (existsSync(stateRoot)) {
    // "@cache" holds compiled seccomp filters: bunc's, not a container's.
    const entries = readdirSync(stateRoot).filter((name) => name !== "@cache");
    if (entries.length > 0) problems.push(`state dir ${stateRoot} not empty: ${entries.join(", ")}`);
  }
  const mounts = [...new Set([...mountsUnder(stateRoot), ...testTempMounts()])];
  if (mounts.length > 0) problems.push(`still mounted: ${mounts.join(", ")}`);
  if (problems.length > 0) throw new Error(problems.join("; "));
}

/** cgroup dirs (three levels deep under /sys/fs/cgroup and each v1 hierarchy) whose name
 *  contains one of `ids`. */
export function cgroupsNamed(ids: string[]): string[] {
  if (ids.length === 0) return [];
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const path = join(dir, e.name);
      if (ids.some((id) => e.name.includes(id))) found.push(path);
      else if (depth > 0) walk(path, depth - 1);
    }
  };
  walk("/sys/fs/cgroup", 4);
  return found;
}
