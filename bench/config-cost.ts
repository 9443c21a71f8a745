// What a full config costs a container over a minimal one: `run` of /bin/true from
//   minimal  pid and mount namespaces, /proc, nothing else
//   full     the config `bunc spec` writes (all its namespaces, mounts, devices, masked and
//            read-only paths), without linux.seccomp
//   seccomp  the same with its default seccomp profile
// alternating, for bunc and for runc (same configs), each with its own state root.
//   bun bench/config-cost.ts [N]   (N defaults to 30)
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../spec-tests/support/bunc.ts";
import { makeBundle, removeTree } from "../spec-tests/support/bundle.ts";

const arg = process.argv[2];
const n = arg === undefined ? 30 : /^\d+$/.test(arg) && Number(arg) > 0 ? Number(arg) : fail(`not a count: ${arg}`);
function fail(message: string): never {
  console.error(`bench: ${message}\nusage: bun bench/config-cost.ts [N]`);
  process.exit(2);
}

const bunc = join(REPO_ROOT, "dist/bunc");
const runc = Bun.which("runc");
const tools = [{ name: "bunc", path: bunc }, ...(runc ? [{ name: "runc", path: runc }] : [])];
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const work = mkdtempSync(join(tmpdir(), "bunc-bench-config-"));
const bundles = [0, 1, 2].map(() => makeBundle({ args: ["/bin/true"] }));
const VARIANTS = ["minimal", "full", "seccomp"] as const;
try {
  // `bunc spec`'s config as written, and without linux.seccomp; and a minimal one.
  const specDir = join(work, "spec");
  Bun.spawnSync(["mkdir", "-p", specDir]);
  if (Bun.spawnSync([bunc, "spec", "--bundle", specDir]).exitCode !== 0) fail("bunc spec failed");
  const spec = JSON.parse(readFileSync(join(specDir, "config.json"), "utf8"));
  spec.process.args = ["/bin/true"];
  spec.process.terminal = false;
  const plain = structuredClone(spec);
  delete plain.linux.seccomp;
  const minimal = {
    ociVersion: spec.ociVersion,
    process: { args: ["/bin/true"], cwd: "/", user: { uid: 0, gid: 0 } },
    root: { path: "rootfs" },
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    linux: { namespaces: [{ type: "pid" }, { type: "mount" }] },
  };
  [minimal, plain, spec].forEach((config, i) => writeFileSync(join(bundles[i]!.dir, "config.json"), JSON.stringify(config)));

  const times = tools.map(() => VARIANTS.map(() => [] as number[]));
  let seq = 0;
  const runOnce = (tool: (typeof tools)[number], bundle: string): number => {
    const root = join(work, `root-${tool.name}`);
    const started = performance.now();
    const r = Bun.spawnSync([tool.path, "--root", root, "run", "--bundle", bundle, `b${seq++}`], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const ms = performance.now() - started;
    if (r.exitCode !== 0) fail(`${tool.name} run failed: ${r.stderr.toString().trim()}`);
    return ms;
  };
  for (let i = 0; i < n + 2; i++) {
    tools.forEach((tool, k) => {
      bundles.forEach((b, j) => {
        const ms = runOnce(tool, b.dir);
        if (i >= 2) times[k]![j]!.push(ms); // the first two warm the page cache
      });
    });
  }
  console.log(`run /bin/true, ${n} runs each, alternating (median ms)`);
  tools.forEach((tool, k) => {
    const [min, full, seccomp] = times[k]!.map(median) as [number, number, number];
    console.log(
      `  ${tool.name}  minimal ${min.toFixed(1)}  full ${full.toFixed(1)} (+${(full - min).toFixed(1)})  ` +
        `full+seccomp ${seccomp.toFixed(1)} (profile +${(seccomp - full).toFixed(1)})`,
    );
  });
} finally {
  for (const b of bundles) b.cleanup();
  removeTree(work);
}
