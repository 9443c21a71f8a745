// Layer unpack timings: bunc's unpackLayers against GNU tar and umoci, on one image.
//   bun bench/unpack.ts [--runs N] [--rebuild] [--thread]
// The image is bench-image.ts's (built once, cached under the temp dir): three gzip layers
// of files from /usr, ~400 MB and ~50k files uncompressed, and a fourth layer of whiteouts
// and an opaque directory. On a tmpfs it mounts and removes, it unpacks the image N times with:
//   bunc   unpackLayers (this file re-run as `bun bench/unpack.ts --bunc-run LAYOUT OUT MODE`;
//          --thread decompresses on a worker thread instead of inline)
//   tar    `tar -xzf` of each layer in order (whiteouts ignored: its practical lower bound)
//   umoci  `umoci raw unpack`
// Prints wall time and peak RSS (from /usr/bin/time) of each, and bunc's ratios.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { unpackLayers } from "../src/image/unpack/unpack-layers.ts";
import { benchLayout, blobPath, layersOf, run } from "./bench-image.ts";

interface Measure {
  seconds: number;
  rssKb: number;
  /** user + system CPU seconds, children included: steadier than wall time on a busy machine. */
  cpu: number;
}

function timed(argv: string[]): Measure {
  const out = join(tmpdir(), `bunc-bench-time-${process.pid}`);
  const r = Bun.spawnSync(["/usr/bin/time", "-o", out, "-f", "%e %M %U %S", ...argv], { stdout: "pipe", stderr: "pipe" });
  const [seconds, rss, user, sys] = readFileSync(out, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
  rmSync(out, { force: true });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString().slice(0, 2000)}`);
  return { seconds: seconds!, rssKb: rss!, cpu: user! + sys! };
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === "--bunc-run") {
    const stats = await unpackLayers(args[2]!, layersOf(args[1]!), { decompressOn: args[3] === "thread" ? "thread" : "inline" });
    console.log(JSON.stringify({ entries: stats.entries, bytes: stats.bytes, whiteouts: stats.whiteouts }));
    return;
  }
  const runs = args.includes("--runs") ? Number(args[args.indexOf("--runs") + 1]) : 3;
  const LAYOUT = await benchLayout({ rebuild: args.includes("--rebuild") });
  if (process.geteuid?.() !== 0) throw new Error("run as root (it mounts a tmpfs)");

  const layers = layersOf(LAYOUT);
  const blobs = layers.map((l) => blobPath(LAYOUT, l.digest));
  const mnt = mkdtempSync(join(tmpdir(), "bunc-bench-unpack-"));
  run(["mount", "-t", "tmpfs", "-o", "size=4g,mode=0755", "tmpfs", mnt]);
  const tools: Record<string, (out: string) => string[]> = {
    bunc: (out) => [process.execPath, import.meta.path, "--bunc-run", LAYOUT, out, args.includes("--thread") ? "thread" : "inline"],
    tar: (out) => ["sh", "-c", `mkdir -p ${out} && for l in ${blobs.join(" ")}; do tar -xzf "$l" -C ${out} --numeric-owner -p || exit 1; done`],
    umoci: (out) => ["umoci", "raw", "unpack", "--image", `${LAYOUT}:bench`, out],
  };
  const results: Record<string, Measure[]> = { bunc: [], tar: [], umoci: [] };
  try {
    console.log(`load average ${loadavg()[0]!.toFixed(1)}; unpacking ${layers.length} layers (${(layers.reduce((n, l) => n + (l.size ?? 0), 0) / 1e6).toFixed(0)} MB gzip) to tmpfs, ${runs} run(s) each, ${cpus().length} CPUs`);
    for (let i = 0; i < runs; i++) {
      for (const [name, argv] of Object.entries(tools)) {
        const out = join(mnt, name);
        const m = timed(argv(out));
        results[name]!.push(m);
        console.log(`  ${name.padEnd(6)} run ${i + 1}: ${m.seconds.toFixed(2)} s, CPU ${m.cpu.toFixed(2)} s, peak RSS ${(m.rssKb / 1024).toFixed(0)} MB`);
        rmSync(out, { recursive: true, force: true });
      }
    }
  } finally {
    Bun.spawnSync(["umount", mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\nmedian wall time, CPU time, peak RSS (load average now ${loadavg()[0]!.toFixed(1)}):`);
  for (const [name, ms] of Object.entries(results)) {
    const wall = median(ms.map((m) => m.seconds)).toFixed(2);
    const cpu = median(ms.map((m) => m.cpu)).toFixed(2);
    console.log(`  ${name.padEnd(6)} ${wall} s  CPU ${cpu} s  ${(median(ms.map((m) => m.rssKb)) / 1024).toFixed(0)} MB`);
  }
  const b = median(results.bunc!.map((m) => m.seconds));
  const c = median(results.bunc!.map((m) => m.cpu));
  const ratio = (tool: string, f: (m: Measure) => number, mine: number) => (mine / median(results[tool]!.map(f))).toFixed(2);
  console.log(`wall: bunc/tar ${ratio("tar", (m) => m.seconds, b)}, bunc/umoci ${ratio("umoci", (m) => m.seconds, b)}`);
  console.log(`CPU:  bunc/tar ${ratio("tar", (m) => m.cpu, c)}, bunc/umoci ${ratio("umoci", (m) => m.cpu, c)}`);
}

await main();
