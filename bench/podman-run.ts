// `podman run --rm IMAGE true` with bunc and with runc as podman's runtime, side by side.
//   bun bench/podman-run.ts [N]        (N runs each, default 20; 2 warm-up runs each first)
// One isolated podman per runtime (spec-tests/support/podman.ts: temp storage, cgroupfs,
// file events, --network none), runs alternating bunc, runc, bunc, … so that load from
// elsewhere on the machine hits both alike. Prints median and mean wall time per run and the
// ratio bunc/runc of the medians.
import { join } from "node:path";
import { REPO_ROOT } from "../spec-tests/support/bunc.ts";
import { makePodman, type Podman } from "../spec-tests/support/podman.ts";

function usage(message: string): never {
  console.error(`bench: ${message}\nusage: bun bench/podman-run.ts [N]`);
  process.exit(2);
}

const arg = process.argv[2];
const n = arg === undefined ? 20 : /^\d+$/.test(arg) && Number(arg) > 0 ? Number(arg) : usage(`not a count: ${arg}`);

const runc = Bun.which("runc");
if (!runc) usage("runc is not installed");
const runtimes = [
  { name: "bunc", path: join(REPO_ROOT, "dist/bunc") },
  { name: "runc", path: runc },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function runOnce(pm: Podman): number {
  const t0 = performance.now();
  const r = pm.podman(["run", "--rm", "--network", "none", pm.image, "true"]);
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`podman run with ${pm.runtime} failed (${r.exitCode}): ${r.stderr}`);
  return ms;
}

const podmen: Podman[] = [];
try {
  for (const rt of runtimes) podmen.push(makePodman(rt.path));
  for (const pm of podmen) for (let i = 0; i < 2; i++) runOnce(pm);
  const times: number[][] = podmen.map(() => []);
  for (let i = 0; i < n; i++) podmen.forEach((pm, k) => times[k]!.push(runOnce(pm)));
  console.log(`podman run --rm IMAGE true, ${n} runs each, alternating (ms per run)`);
  runtimes.forEach((rt, k) => {
    console.log(`  ${rt.name.padEnd(5)} median ${median(times[k]!).toFixed(1).padStart(7)}   mean ${mean(times[k]!).toFixed(1).padStart(7)}`);
  });
  console.log(`  bunc/runc (medians): ${(median(times[0]!) / median(times[1]!)).toFixed(3)}`);
} finally {
  for (const pm of podmen) pm.cleanup();
}
