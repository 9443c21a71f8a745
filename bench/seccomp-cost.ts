// What the default seccomp profile costs a container: `run` of /bin/true from the config
// `bunc spec` writes, with its default profile and with linux.seccomp removed, alternating,
// for bunc and for runc (same two configs), each with its own state root.
//   bun bench/seccomp-cost.ts [N]   (N defaults to 30)
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../spec-tests/support/bunc.ts";
import { makeBundle, removeTree } from "../spec-tests/support/bundle.ts";

const arg = process.argv[2];
const n = arg === undefined ? 30 : /^\d+$/.test(arg) && Number(arg) > 0 ? Number(arg) : fail(`not a count: ${arg}`);
function fail(message: string): never {
  console.error(`bench: ${message}\nusage: bun bench/seccomp-cost.ts [N]`);
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

const work = mkdtempSync(join(tmpdir(), "bunc-bench-seccomp-"));
const bundles = [makeBundle({ args: ["/bin/true"] }), makeBundle({ args: ["/bin/true"] })];
try {
  // Both bundles get `bunc spec`'s config: one as written, one without linux.seccomp.
  const specDir = join(work, "spec");
  Bun.spawnSync(["mkdir", "-p", specDir]);
  if (Bun.spawnSync([bunc, "spec", "--bundle", specDir]).exitCode !== 0) fail("bunc spec failed");
  const spec = JSON.parse(readFileSync(join(specDir, "config.json"), "utf8"));
  spec.process.args = ["/bin/true"];
  spec.process.terminal = false;
  const plain = structuredClone(spec);
  delete plain.linux.seccomp;
  writeFileSync(join(bundles[0]!.dir, "config.json"), JSON.stringify(spec));
  writeFileSync(join(bundles[1]!.dir, "config.json"), JSON.stringify(plain));

  const times = tools.map(() => [[], []] as number[][]);
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
  console.log(`run /bin/true from bunc spec's config, ${n} runs each, alternating (median ms)`);
  tools.forEach((tool, k) => {
    const [withProfile, without] = times[k]!.map(median) as [number, number];
    console.log(`  ${tool.name}  default profile ${withProfile.toFixed(1)}  none ${without.toFixed(1)}  cost ${(withProfile - without).toFixed(1)} ms`);
  });
} finally {
  for (const b of bundles) b.cleanup();
  removeTree(work);
}
