// Layer unpack timings: bunc's unpackLayers against GNU tar and umoci, on one image.
//   bun bench/unpack.ts [--runs N] [--rebuild] [--thread]
// Builds once (cached under the temp dir) an OCI image layout from files of /usr: three
// gzip layers, ~400 MB and ~50k files uncompressed, and a fourth layer of whiteouts and an
// opaque directory. Then, on a tmpfs it mounts and removes, unpacks the image N times with:
//   bunc   unpackLayers (this file re-run as `bun bench/unpack.ts --bunc-run LAYOUT OUT MODE`;
//          --thread decompresses on a worker thread instead of inline)
//   tar    `tar -xzf` of each layer in order (whiteouts ignored: its practical lower bound)
//   umoci  `umoci raw unpack`
// Prints wall time and peak RSS (from /usr/bin/time) of each, and bunc's ratios.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createGunzip } from "node:zlib";
import { createReadStream } from "node:fs";
import { unpackLayers, type LayerInput } from "../src/image/unpack/unpack-layers.ts";

const TARGET_FILES = 50_000;
const TARGET_BYTES = 400 * 1024 * 1024;
const MAX_FILE = 16 * 1024 * 1024;
const CACHE = join(tmpdir(), "bunc-bench-unpack-cache");
const LAYOUT = join(CACHE, "layout");
const LAYER_MEDIA = "application/vnd.oci.image.layer.v1.tar+gzip";

function run(argv: string[], opts: { cwd?: string } = {}): string {
  const r = Bun.spawnSync(argv, { cwd: opts.cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString().slice(0, 2000)}`);
  return r.stdout.toString();
}

async function sha256File(path: string): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) h.update(chunk);
  return `sha256:${h.digest("hex")}`;
}

async function diffIdOf(path: string): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  for await (const chunk of createReadStream(path).pipe(createGunzip())) h.update(chunk as Buffer);
  return `sha256:${h.digest("hex")}`;
}

function blobPath(layout: string, digest: string) {
  return join(layout, "blobs", "sha256", digest.slice("sha256:".length));
}

async function putBlob(layout: string, path: string): Promise<{ digest: string; size: number }> {
  const digest = await sha256File(path);
  renameSync(path, blobPath(layout, digest));
  return { digest, size: statSync(blobPath(layout, digest)).size };
}

function putJson(layout: string, value: unknown): { digest: string; size: number } {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
  writeFileSync(blobPath(layout, digest), bytes);
  return { digest, size: bytes.length };
}

/** The image: files of /usr in find order, split over three layers, plus a whiteout layer. */
async function buildImage(): Promise<void> {
  console.log(`building the bench image in ${CACHE} (once)…`);
  rmSync(CACHE, { recursive: true, force: true });
  const work = join(CACHE, "work");
  mkdirSync(work, { recursive: true });
  mkdirSync(join(LAYOUT, "blobs", "sha256"), { recursive: true });
  const listing = run(["find", "/usr", "-xdev", "(", "-type", "f", "-o", "-type", "l", "-o", "-type", "d", ")", "-printf", "%y %s %P\\n"]);
  const picked: { type: string; path: string }[] = [];
  let files = 0;
  let bytes = 0;
  for (const line of listing.split("\n")) {
    const m = /^(\w) (\d+) (.+)$/.exec(line);
    if (!m) continue;
    const [, type, size, rel] = m as unknown as [string, string, string, string];
    if (type === "f" && Number(size) > MAX_FILE) continue;
    picked.push({ type, path: `usr/${rel}` });
    if (type === "f") {
      files++;
      bytes += Number(size);
    }
    if (files >= TARGET_FILES || bytes >= TARGET_BYTES) break;
  }
  const third = Math.ceil(picked.length / 3);
  const parts = [picked.slice(0, third), picked.slice(third, 2 * third), picked.slice(2 * third)];
  const layerFiles: string[] = [];
  for (const [i, part] of parts.entries()) {
    const list = join(work, `list${i}`);
    writeFileSync(list, part.map((p) => p.path).join("\n") + "\n");
    const out = join(work, `layer${i}.tar.gz`);
    run(["tar", "-C", "/", "--numeric-owner", "--no-recursion", "-czf", out, "-T", list]);
    layerFiles.push(out);
  }
  // Layer 4: whiteouts of every 25th file of layer 1, an opaque marker on a layer-2 directory.
  const staging = join(work, "whiteouts");
  const lower = parts[0]!.filter((p) => p.type === "f").filter((_, i) => i % 25 === 0);
  for (const p of lower) {
    mkdirSync(join(staging, dirname(p.path)), { recursive: true });
    writeFileSync(join(staging, dirname(p.path), `.wh.${p.path.split("/").pop()}`), "");
  }
  const opaqueDir = parts[1]!.find((p) => p.type === "d");
  if (opaqueDir) {
    mkdirSync(join(staging, opaqueDir.path), { recursive: true });
    writeFileSync(join(staging, opaqueDir.path, ".wh..wh..opq"), "");
  }
  const wh = join(work, "layer3.tar.gz");
  run(["tar", "-C", staging, "--numeric-owner", "-czf", wh, "."]);
  layerFiles.push(wh);

  const layers = [];
  const diffIds = [];
  for (const f of layerFiles) {
    diffIds.push(await diffIdOf(f));
    layers.push({ mediaType: LAYER_MEDIA, ...(await putBlob(LAYOUT, f)) });
  }
  const config = putJson(LAYOUT, { architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: diffIds } });
  const manifest = putJson(LAYOUT, {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers,
  });
  writeFileSync(join(LAYOUT, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(LAYOUT, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": "bench" } }],
    }),
  );
  rmSync(work, { recursive: true, force: true });
  console.log(`  ${files} files, ${(bytes / 1e6).toFixed(0)} MB of file data, ${lower.length} whiteouts`);
}

/** The layers of the image "bench" in an OCI layout, read the plain way. */
export function layersOf(layout: string, ref = "bench"): LayerInput[] {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const desc = index.manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.["org.opencontainers.image.ref.name"] === ref);
  const manifest = JSON.parse(readFileSync(blobPath(layout, desc.digest), "utf8"));
  const config = JSON.parse(readFileSync(blobPath(layout, manifest.config.digest), "utf8"));
  return manifest.layers.map((l: { digest: string; mediaType: string; size: number }, i: number) => ({
    digest: l.digest,
    mediaType: l.mediaType,
    size: l.size,
    diffId: config.rootfs.diff_ids[i],
    open: () => Bun.file(blobPath(layout, l.digest)).stream(),
  }));
}

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
  if (args.includes("--rebuild") || !existsSync(join(LAYOUT, "index.json"))) await buildImage();
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
