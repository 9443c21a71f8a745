// Container lifecycle timings: bunc against runc and crun from Debian.
//   bun bench/lifecycle.ts [N] [--only bunc,runc,crun] [--seccomp] [--limits]   (N defaults to 20)
// --seccomp gives every runtime's container bunc's default seccomp profile; --limits gives it
// memory, cpu and pids limits.
// One busybox bundle whose process is /bin/true: N iterations of `run --bundle B ID`, then N
// cycles of `create`, `start`, `state` until stopped, `delete`, each iteration by every tool
// in turn; each tool with its own state root in a temp dir. Prints mean and median ms per container,
// the ratios bunc/runc and bunc/crun, and the peak RSS of `create` (from wait4's rusage).
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync } from "node:fs";
import { cpus, release, tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../spec-tests/support/bunc.ts";
import { type Bundle, makeBundle, mountsUnder, removeTree } from "../spec-tests/support/bundle.ts";
import { defaultSeccompProfile } from "../src/linux/seccomp/default-profile.ts";
import { nativeArch } from "../src/linux/seccomp/tables/index.ts";

const TOOLS = ["bunc", "runc", "crun"] as const;
type ToolName = (typeof TOOLS)[number];

interface Tool {
  name: ToolName;
  /** Command prefix; global options and the verb follow. */
  argv: string[];
  note?: string;
}

interface Result {
  tool: Tool;
  run: number[];
  cycle: number[];
  create: number[];
  start: number[];
  delete: number[];
  createRss: number[];
}

function usage(message?: string): never {
  if (message) console.error(`bench: ${message}`);
  console.error("usage: bun bench/lifecycle.ts [N] [--only bunc,runc,crun] [--seccomp] [--limits]");
  process.exit(2);
}

function parseArgs(argv: string[]): { n: number; only: ToolName[]; seccomp: boolean; limits: boolean } {
  let n = 20;
  let seccomp = false;
  let limits = false;
  let only: ToolName[] = [...TOOLS];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let list: string | undefined;
    if (arg === "--seccomp") seccomp = true;
    else if (arg === "--limits") limits = true;
    else if (arg === "--only") list = argv[++i] ?? usage("--only needs a list");
    else if (arg.startsWith("--only=")) list = arg.slice("--only=".length);
    else if (/^\d+$/.test(arg) && Number(arg) > 0) n = Number(arg);
    else usage(`unknown argument ${arg}`);
    if (list !== undefined) {
      const names = list.split(",").filter(Boolean);
      for (const name of names) if (!(TOOLS as readonly string[]).includes(name)) usage(`unknown tool ${name}`);
      only = names as ToolName[];
    }
  }
  return { n, only, seccomp, limits };
}

/** Finds each tool, or says why it is skipped. */
function findTools(only: ToolName[]): { tools: Tool[]; skipped: string[] } {
  const tools: Tool[] = [];
  const skipped: string[] = [];
  for (const name of only) {
    if (name === "bunc") {
      const path = join(REPO_ROOT, "dist/bunc");
      if (existsSync(path)) tools.push({ name, argv: [path] });
      else skipped.push(`bunc: ${path} not built (bun build.ts)`);
      continue;
    }
    const path = Bun.which(name);
    if (!path) {
      skipped.push(`${name}: not installed (apt-get install ${name})`);
      continue;
    }
    // crun 1.8 does not cope with a cgroup2 mount beside v1 controllers (hybrid mode):
    // hide it in a mount namespace of its own, as DESIGN.md describes.
    if (name === "crun" && mountsUnder("/sys/fs/cgroup/unified").includes("/sys/fs/cgroup/unified")) {
      tools.push({
        name,
        argv: ["unshare", "-m", "sh", "-c", 'umount /sys/fs/cgroup/unified; exec "$0" "$@"', path],
        note: "run as unshare -m sh -c 'umount /sys/fs/cgroup/unified; exec crun ...' (hybrid cgroups); times include that wrapper",
      });
    } else tools.push({ name, argv: [path] });
  }
  return { tools, skipped };
}

class ToolFailed extends Error {}

interface Call {
  ms: number;
  stdout: string;
}

/** Runs one command with stdio on files (a container created by it keeps them open),
 *  timed around the spawn. Throws ToolFailed on a non-zero exit. */
function call(tool: Tool, root: string, args: string[], logDir: string): Call {
  const outPath = join(logDir, "out");
  const errPath = join(logDir, "err");
  const out = openSync(outPath, "w");
  const err = openSync(errPath, "w");
  let r;
  const started = performance.now();
  try {
    r = Bun.spawnSync([...tool.argv, "--root", root, ...args], {
      stdin: "ignore",
      stdout: out,
      stderr: err,
      timeout: 30_000,
      killSignal: "SIGKILL",
    });
  } finally {
    closeSync(out);
    closeSync(err);
  }
  const ms = performance.now() - started;
  if (r.exitCode !== 0) {
    const why = r.exitCode === null ? `killed by ${r.signalCode}` : `exit ${r.exitCode}`;
    throw new ToolFailed(`${tool.name} ${args.join(" ")}: ${why}: ${readFileSync(errPath, "utf8").trim()}`);
  }
  return { ms, stdout: readFileSync(outPath, "utf8") };
}

const GNU_TIME = "/usr/bin/time";

/** Peak RSS (bytes) of one `create`, or undefined without GNU time (Debian package `time`). */
function createPeakRss(tool: Tool, root: string, bundle: Bundle, id: string, logDir: string): number | undefined {
  if (!existsSync(GNU_TIME)) return undefined;
  const report = join(logDir, "rss");
  const timed: Tool = { ...tool, argv: [GNU_TIME, "-f", "%M", "-o", report, ...tool.argv] };
  call(timed, root, ["create", "--bundle", bundle.dir, id], logDir);
  return Number(readFileSync(report, "utf8").trim().split("\n").pop()) * 1024;
}

/** Polls `state ID` until it says stopped (5 s at most). */
function waitStopped(tool: Tool, root: string, id: string, logDir: string): void {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const { stdout } = call(tool, root, ["state", id], logDir);
    if ((JSON.parse(stdout) as { status?: string }).status === "stopped") return;
    if (Date.now() > deadline) throw new ToolFailed(`${tool.name}: ${id} not stopped after 5 s`);
    Bun.sleepSync(1);
  }
}

let interrupted = false;
/** Temp dir of this run: state roots and stdio files. */
let base: string | undefined;
/** State roots in use, for a cleanup at exit. */
const roots: { tool: Tool; root: string }[] = [];

/** `delete -f` whatever a tool left in its state root, then removes the root. */
function cleanupTool(tool: Tool, root: string): void {
  if (!existsSync(root)) return;
  for (const id of readdirSync(root)) {
    Bun.spawnSync([...tool.argv, "--root", root, "delete", "-f", id], { stdio: ["ignore", "ignore", "ignore"], timeout: 10_000 });
  }
  removeTree(root);
}

interface Measured {
  tool: Tool;
  root: string;
  result: Result;
  /** Why the tool dropped out, if it did. */
  failure?: string;
}

/**
 * Every tool in turn within each iteration (not all of one tool, then the next): a
 * machine whose speed drifts during the run (page cache, other load) then skews no tool.
 */
async function measure(tools: Tool[], bundle: Bundle, n: number): Promise<Measured[]> {
  const logDir = base!;
  const all: Measured[] = tools.map((tool) => {
    const root = join(base!, `state-${tool.name}`);
    roots.push({ tool, root });
    return { tool, root, result: { tool, run: [], cycle: [], create: [], start: [], delete: [], createRss: [] } };
  });
  const live = () => all.filter((m) => !m.failure);
  const id = (m: Measured, phase: string, i: number) => `bench-${m.tool.name}-${process.pid}-${phase}${i}`;
  // One step of one tool; a tool that fails drops out with its message.
  const step = (m: Measured, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof ToolFailed)) throw err;
      m.failure = err.message;
    }
  };
  try {
    for (const m of live()) step(m, () => call(m.tool, m.root, ["run", "--bundle", bundle.dir, id(m, "warm", 0)], logDir)); // page the binary in
    for (let i = 0; i < n && !interrupted; i++) {
      for (const m of live()) step(m, () => m.result.run.push(call(m.tool, m.root, ["run", "--bundle", bundle.dir, id(m, "run", i)], logDir).ms));
      await Bun.sleep(0); // let a Ctrl-C be seen
    }
    for (let i = 0; i < n && !interrupted; i++) {
      for (const m of live()) {
        step(m, () => {
          const cid = id(m, "cycle", i);
          const started = performance.now();
          const created = call(m.tool, m.root, ["create", "--bundle", bundle.dir, cid], logDir);
          const start = call(m.tool, m.root, ["start", cid], logDir);
          waitStopped(m.tool, m.root, cid, logDir);
          const deleted = call(m.tool, m.root, ["delete", cid], logDir);
          m.result.cycle.push(performance.now() - started);
          m.result.create.push(created.ms);
          m.result.start.push(start.ms);
          m.result.delete.push(deleted.ms);
        });
      }
      await Bun.sleep(0);
    }
    // Peak RSS apart from the timings: a child spawned by this (large) bench process
    // inherits its memory high-water mark at exec, so `create` is measured through
    // GNU time, whose own fork is small.
    for (let i = 0; i < Math.min(n, 5) && !interrupted; i++) {
      for (const m of live()) {
        step(m, () => {
          const rss = createPeakRss(m.tool, m.root, bundle, id(m, "rss", i), logDir);
          if (rss !== undefined) m.result.createRss.push(rss);
          call(m.tool, m.root, ["delete", "--force", id(m, "rss", i)], logDir);
        });
      }
    }
  } finally {
    for (const m of all) cleanupTool(m.tool, m.root);
  }
  return all;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "-");
const mib = (bytes: number) => (bytes > 0 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : "-");

function report(n: number, results: Result[]): void {
  const rows = [
    ["tool", "run mean", "run median", "cycle mean", "cycle median", "create", "start", "delete", "create peak RSS"],
    ...results.map((r) => [
      r.tool.name,
      ms(mean(r.run)),
      ms(median(r.run)),
      ms(mean(r.cycle)),
      ms(median(r.cycle)),
      ms(median(r.create)),
      ms(median(r.start)),
      ms(median(r.delete)),
      mib(median(r.createRss)),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  console.log(`\nms per container, N=${n} (create/start/delete: medians; cycle = create + start + state until stopped + delete)`);
  for (const row of rows) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "));
  for (const r of results) if (r.tool.note) console.log(`${r.tool.name}: ${r.tool.note}`);

  const bunc = results.find((r) => r.tool.name === "bunc");
  if (!bunc) return;
  for (const peer of results.filter((r) => r.tool.name !== "bunc")) {
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    console.log(
      `bunc/${peer.tool.name}: run ${ratio(mean(bunc.run), mean(peer.run))}x mean, ${ratio(median(bunc.run), median(peer.run))}x median; ` +
        `cycle ${ratio(mean(bunc.cycle), mean(peer.cycle))}x mean, ${ratio(median(bunc.cycle), median(peer.cycle))}x median`,
    );
  }
}

async function main(): Promise<number> {
  const { n, only, seccomp, limits } = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) console.error("bench: not root: the runtimes will likely fail");
  const { tools, skipped } = findTools(only);
  for (const s of skipped) console.log(`skipped ${s}`);
  if (tools.length === 0) return 1;

  base = mkdtempSync(join(tmpdir(), "bunc-bench-"));
  const bundle = makeBundle({
    args: ["/bin/true"],
    // crun 1.8 refuses ociVersion 1.2.0; every runtime takes 1.0.x.
    config: { ociVersion: "1.0.2" },
    mutate: (config) => {
      if (seccomp) {
        const caps = config.process?.capabilities?.bounding ?? [];
        config.linux = { ...config.linux, seccomp: defaultSeccompProfile(nativeArch(), caps) };
      }
      if (limits) {
        const resources = { memory: { limit: 256 << 20 }, cpu: { shares: 512, quota: 50000, period: 100000 }, pids: { limit: 100 } };
        config.linux = { ...config.linux, resources } as typeof config.linux;
      }
    },
  });
  const results: Result[] = [];
  let failed = false;
  try {
    console.log(`bench: N=${n}, busybox bundle running /bin/true${seccomp ? " with the default seccomp profile" : ""}${limits ? " with memory, cpu and pids limits" : ""}, ${cpus().length} CPUs, Linux ${release()}`);
    for (const m of await measure(tools, bundle, n)) {
      if (m.failure) {
        failed = true;
        console.log(`${m.tool.name} failed\n  ${m.failure}`);
      } else {
        results.push(m.result);
        console.log(`${m.tool.name}: run median ${ms(median(m.result.run))} ms, cycle median ${ms(median(m.result.cycle))} ms`);
      }
    }
  } finally {
    bundle.cleanup();
    removeTree(base);
  }
  if (interrupted) {
    console.log("interrupted");
    return 130;
  }
  report(n, results);
  return failed ? 1 : 0;
}

const stop = () => {
  interrupted = true;
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
process.on("exit", () => {
  // A crash mid-way: the normal path has removed these already.
  try {
    for (const { tool, root } of roots) cleanupTool(tool, root);
    if (base) removeTree(base);
  } catch {
    // nothing more to do at exit
  }
});

process.exit(await main());
