// A private containerd for client tests: its own root, state, sockets and plugin dir in one
// temp dir, no CRI plugin, the test rootfs imported as an image, and `ctr` pointed at it.
//
//   const cd = await PrivateContainerd.start();
//   const rt = cd.runtime("bunc", buncPath());     // an argv-logging wrapper around the binary
//   cd.ctr(["run", ...cd.runFlags(rt), "--rm", cd.image, id, "echo", "hi"]);
//   rt.calls();                                    // what the shim ran: cwd and argv
//   await cd.stop();                               // throws if anything of ours survived
//
// Containers get the cgroup `/<namespace>/<id>`: the namespace is unique per daemon, so what
// the runtimes leave in the cgroup trees is ours to find and remove. Shims outlive containerd
// by design; stop() deletes every task first, and kills any shim that still names our socket.
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { mountsUnder, removeTree, TEMP_PREFIX } from "./bundle.ts";
import { cgroupMounts, removeCgroupTree } from "./cgroups.ts";
import { rootfsImageArchive } from "./oci-archive.ts";

const PATH = process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// containerd 1.6 puts each shim's socket in /run/containerd/s, whatever its config says: we
// remove these dirs at the end if we made them and they are empty.
const SHIM_SOCKET_DIRS = ["/run/containerd", "/run/containerd/s"];

export interface CtrResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  argv: string[];
}

export interface CtrOptions {
  /** Run ctr under a pty (util-linux `script`): for `-t`. stdout then holds both streams. */
  pty?: boolean;
  timeoutMs?: number;
  /** What ctr reads on stdin (default: nothing, /dev/null). */
  stdin?: string;
}

/** One call of a runtime binary by the shim. */
export interface RuntimeCall {
  cwd: string;
  argv: string[];
}

/** A runtime binary as the shim sees it: a wrapper that logs each call, then exec's it. */
export interface WrappedRuntime {
  readonly name: string;
  /** The wrapper script, for `--runc-binary`. */
  readonly path: string;
  /** Its state dir, for `--runc-root` (the shim adds `/<namespace>`). */
  readonly root: string;
  calls(): RuntimeCall[];
}

/** Single-quoted for sh. */
export const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

const randomHex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");

/** The filesystem type of the mount holding `path`. */
function fsTypeOf(path: string): string {
  let best = { point: "", type: "" };
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const f = line.split(" ");
    const dash = f.indexOf("-");
    if (dash < 0) continue;
    const point = f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    const inside = point === "/" || path === point || path.startsWith(`${point}/`);
    if (inside && point.length >= best.point.length) best = { point, type: f[dash + 1]! };
  }
  return best.type;
}

/** The unix socket paths a process holds open (from /proc/net/unix). */
function socketPathsOf(pid: number): string[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {}
    }
  } catch {
    return [];
  }
  return readFileSync("/proc/net/unix", "utf8")
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 8 && inodes.has(f[6]!))
    .map((f) => f[7]!);
}

/** pids of live processes whose command line contains `needle`. */
function processesNaming(needle: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").includes(needle)) found.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

export class PrivateContainerd {
  /** The image every test runs: the test rootfs (busybox), imported from an OCI archive. */
  readonly image = "docker.io/library/busybox:bunc-test";
  readonly socket: string;
  readonly namespace = `bunctest-${randomHex(4)}`;
  /** overlayfs, or native where the temp dir cannot hold overlay layers. */
  readonly snapshotter: string;
  private readonly logFile: string;
  private calls = 0;
  private daemon?: Subprocess;
  private readonly socketDirsBefore = SHIM_SOCKET_DIRS.filter((d) => existsSync(d));

  private constructor(readonly dir: string) {
    this.socket = join(dir, "containerd.sock");
    this.logFile = join(dir, "containerd.log");
    this.snapshotter = fsTypeOf(dir) === "overlay" ? "native" : "overlayfs";
  }

  /** Starts containerd, waits for its socket, imports the image. */
  static async start(): Promise<PrivateContainerd> {
    const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}containerd-`));
    // Reachable by any uid: a container with a user namespace mounts its rootfs as mapped root.
    chmodSync(dir, 0o755);
    const cd = new PrivateContainerd(dir);
    try {
      await cd.boot();
      return cd;
    } catch (err) {
      await cd.stop().catch(() => {});
      throw err;
    }
  }

  private async boot(): Promise<void> {
    for (const sub of ["io", "opt", "runtimes", "fifo"]) mkdirSync(join(this.dir, sub));
    const config = join(this.dir, "config.toml");
    writeFileSync(
      config,
      [
        "version = 2",
        `root = ${JSON.stringify(join(this.dir, "root"))}`,
        `state = ${JSON.stringify(join(this.dir, "state"))}`,
        // No CRI; no snapshotters this machine cannot have (they probe the kernel and disks).
        'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]',
        "[grpc]",
        `  address = ${JSON.stringify(this.socket)}`,
        "[ttrpc]",
        `  address = ${JSON.stringify(`${this.socket}.ttrpc`)}`,
        "[debug]",
        '  address = ""',
        "[metrics]",
        '  address = ""',
        // Its default is /opt/containerd: keep it ours.
        '[plugins."io.containerd.internal.v1.opt"]',
        `  path = ${JSON.stringify(join(this.dir, "opt"))}`,
        "",
      ].join("\n"),
    );
    const log = openSync(this.logFile, "a");
    try {
      this.daemon = Bun.spawn(["containerd", "--config", config], { env: { PATH }, stdin: "ignore", stdout: log, stderr: log });
    } finally {
      closeSync(log);
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.daemon.exitCode !== null) throw new Error(`containerd exited with ${this.daemon.exitCode}:\n${this.logTail()}`);
      if (existsSync(this.socket) && this.ctr(["version"], { timeoutMs: 10_000 }).exitCode === 0) break;
      if (Date.now() > deadline) throw new Error(`containerd did not answer on ${this.socket}:\n${this.logTail()}`);
      await Bun.sleep(50);
    }
    const archive = join(this.dir, "image.oci.tar");
    writeFileSync(archive, await rootfsImageArchive(this.image));
    const imported = this.ctr(["images", "import", "--snapshotter", this.snapshotter, archive], { timeoutMs: 60_000 });
    if (imported.exitCode !== 0) throw new Error(`ctr images import: ${imported.stderr}${imported.stdout}`);
  }

  /** What containerd (and its shims, through it) logged so far. */
  log(): string {
    try {
      return readFileSync(this.logFile, "utf8");
    } catch {
      return "";
    }
  }

  /** The last lines of the log. */
  logTail(lines = 30): string {
    return this.log().trimEnd().split("\n").slice(-lines).join("\n") || "(no log)";
  }

  /** Runs `ctr --address SOCKET --namespace NS ARGS…` and waits (30 s at most: less than a test may take, so a hang fails the test that made it). */
  ctr(args: string[], opts: CtrOptions = {}): CtrResult {
    // ctr makes its stdio fifos in /run/containerd/fifo unless told: run, exec and start get
    // --fifo-dir in our temp dir (a ctr killed by a timeout leaves them there).
    const at = args[0] === "run" ? 1 : ["tasks", "task", "t"].includes(args[0]!) && ["exec", "start"].includes(args[1]!) ? 2 : -1;
    const withFifos = at < 0 ? args : [...args.slice(0, at), "--fifo-dir", join(this.dir, "fifo"), ...args.slice(at)];
    const base = ["ctr", "--address", this.socket, "--namespace", this.namespace, ...withFifos];
    const argv = opts.pty ? ["script", "-qfec", base.map(shellQuote).join(" "), "/dev/null"] : base;
    const n = ++this.calls;
    const outFile = join(this.dir, "io", `${n}.out`);
    const errFile = join(this.dir, "io", `${n}.err`);
    const out = openSync(outFile, "w+");
    const err = openSync(errFile, "w+");
    try {
      // Files, not pipes: nothing the shim starts can hold them open past ctr's exit.
      const r = Bun.spawnSync(argv, {
        env: { PATH, TERM: "xterm" },
        stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
        stdout: out,
        stderr: err,
        timeout: opts.timeoutMs ?? 30_000,
        killSignal: "SIGKILL",
      });
      return {
        exitCode: r.exitCode,
        stdout: readFileSync(outFile, "utf8"),
        stderr: readFileSync(errFile, "utf8"),
        timedOut: r.exitedDueToTimeout ?? false,
        argv,
      };
    } finally {
      closeSync(out);
      closeSync(err);
    }
  }

  /** A wrapper around `binary` named `name` that logs each call (cwd and argv) to a file. */
  runtime(name: string, binary: string): WrappedRuntime {
    const path = join(this.dir, "runtimes", name);
    const log = join(this.dir, "runtimes", `${name}.calls`);
    const root = join(this.dir, "runtimes", `${name}-root`);
    writeFileSync(log, "");
    // One line per call: the cwd and each argument, each followed by \x1f.
    writeFileSync(
      path,
      [
        "#!/bin/sh",
        `{ printf '%s\\037' "$PWD" "$@"; printf '\\n'; } >> ${shellQuote(log)}`,
        `exec ${shellQuote(binary)} "$@"`,
        "",
      ].join("\n"),
    );
    chmodSync(path, 0o755);
    return {
      name,
      path,
      root,
      calls: () =>
        readFileSync(log, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((line) => {
            const [cwd, ...argv] = line.split("\x1f").slice(0, -1);
            return { cwd: cwd!, argv };
          }),
    };
  }

  /** The `ctr run` flags that make the shim use `rt`. */
  runFlags(rt: WrappedRuntime): string[] {
    return ["--snapshotter", this.snapshotter, "--runc-binary", rt.path, "--runc-root", rt.root];
  }

  /** The cgroup dirs (one per hierarchy) of our namespace. */
  private namespaceCgroups(): string[] {
    return cgroupMounts()
      .map((h) => join(h.mountPoint, this.namespace))
      .filter((d) => existsSync(d));
  }

  /**
   * Deletes every task and container, stops containerd by its pid, kills any shim of ours
   * still alive, removes our cgroups, unmounts what the shims left under the temp dir and
   * removes it. Throws, after cleaning everything, if a shim or a container cgroup survived.
   */
  async stop(): Promise<void> {
    const problems: string[] = [];
    if (this.daemon && this.daemon.exitCode === null) {
      const tasks = this.ctr(["tasks", "list", "--quiet"], { timeoutMs: 20_000 });
      for (const id of tasks.stdout.split("\n").filter(Boolean)) this.ctr(["tasks", "delete", "--force", id], { timeoutMs: 20_000 });
      const containers = this.ctr(["containers", "list", "--quiet"], { timeoutMs: 20_000 });
      for (const id of containers.stdout.split("\n").filter(Boolean)) this.ctr(["containers", "delete", id], { timeoutMs: 20_000 });
      this.daemon.kill("SIGTERM");
      const stopped = await Promise.race([this.daemon.exited.then(() => true), Bun.sleep(15_000).then(() => false)]);
      if (!stopped) {
        problems.push("containerd did not stop on SIGTERM");
        this.daemon.kill("SIGKILL");
        await this.daemon.exited;
      }
    }
    // The socket path is unique to us: a process naming it is one of our shims.
    const shims = processesNaming(`-address ${this.socket}`);
    if (shims.length > 0) {
      problems.push(`shims still alive after their tasks were deleted: ${shims.join(", ")}`);
      const sockets = shims.flatMap(socketPathsOf).filter((p) => p.startsWith("/run/containerd/s/"));
      for (const pid of shims) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      const deadline = Date.now() + 5_000;
      while (processesNaming(`-address ${this.socket}`).length > 0 && Date.now() < deadline) await Bun.sleep(20);
      for (const path of sockets) rmSync(path, { force: true });
    }
    for (const dir of [...SHIM_SOCKET_DIRS].reverse()) {
      if (this.socketDirsBefore.includes(dir)) continue;
      try {
        rmdirSync(dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOENT" && code !== "ENOTEMPTY") problems.push(`cannot remove ${dir}: ${code}`);
      }
    }
    for (const dir of this.namespaceCgroups()) {
      const children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
      if (children.length > 0) problems.push(`container cgroups left in ${dir}: ${children.map((e) => e.name).join(", ")}`);
      try {
        removeCgroupTree(dir);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    if (problems.length > 0) {
      problems.push(`containerd's log ends:\n${this.logTail()}`);
    }
    try {
      removeTree(this.dir);
    } catch (err) {
      problems.push((err as Error).message);
    }
    if (mountsUnder(this.dir).length > 0) problems.push(`still mounted under ${this.dir}`);
    if (problems.length > 0) throw new Error(`private containerd: ${problems.join("; ")}`);
  }
}
