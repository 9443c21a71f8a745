// The image the benches share, built once from files of /usr and cached under the temp dir
// (an OCI image layout, tag "bench"): three gzip layers of ~50k files, ~400 MB uncompressed
// and ~170 MB compressed (real binaries and libraries: they compress as real images do), and a
// fourth layer of whiteouts and an opaque directory. benchLayout() builds it when missing;
// withBusybox() adds the tag "bench-busybox": the same layers and a fifth, Debian's static
// busybox with /bin/true and /bin/sh, so a container can run from it.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createReadStream } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createGunzip, gzipSync } from "node:zlib";
import type { LayerInput } from "../src/image/unpack/unpack-layers.ts";
import { busyboxEntries, tarBytes } from "../spec-tests/support/images.ts";

const TARGET_FILES = 50_000;
const TARGET_BYTES = 400 * 1024 * 1024;
const MAX_FILE = 16 * 1024 * 1024;
export const CACHE = join(tmpdir(), "bunc-bench-unpack-cache");
export const LAYOUT = join(CACHE, "layout");
const LAYER_MEDIA = "application/vnd.oci.image.layer.v1.tar+gzip";

export function run(argv: string[], opts: { cwd?: string } = {}): string {
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

export function blobPath(layout: string, digest: string) {
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
    path: blobPath(layout, l.digest),
  }));
}

/** The bench image's layout, built first when missing (or when `rebuild`). */
export async function benchLayout(opts: { rebuild?: boolean } = {}): Promise<string> {
  if (opts.rebuild || !existsSync(join(LAYOUT, "index.json"))) await buildImage();
  return LAYOUT;
}

const REF_NAME = "org.opencontainers.image.ref.name";
export const BUSYBOX_TAG = "bench-busybox";

/** Adds (once) the tag "bench-busybox" to the layout: the bench image plus a busybox layer, Cmd /bin/true. */
export async function withBusybox(layout: string): Promise<string> {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  if (index.manifests.some((m: { annotations?: Record<string, string> }) => m.annotations?.[REF_NAME] === BUSYBOX_TAG)) return BUSYBOX_TAG;
  const base = index.manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.[REF_NAME] === "bench");
  const manifest = JSON.parse(readFileSync(blobPath(layout, base.digest), "utf8"));
  const config = JSON.parse(readFileSync(blobPath(layout, manifest.config.digest), "utf8"));
  const raw = await tarBytes(busyboxEntries(["sh", "true"]));
  const gz = gzipSync(raw);
  const digest = `sha256:${new Bun.CryptoHasher("sha256").update(gz).digest("hex")}`;
  writeFileSync(blobPath(layout, digest), gz);
  const diffId = `sha256:${new Bun.CryptoHasher("sha256").update(raw).digest("hex")}`;
  const newConfig = putJson(layout, {
    ...config,
    config: { Env: ["PATH=/bin:/usr/bin"], Cmd: ["/bin/true"] },
    rootfs: { type: "layers", diff_ids: [...config.rootfs.diff_ids, diffId] },
  });
  const newManifest = putJson(layout, {
    ...manifest,
    config: { ...manifest.config, ...newConfig },
    layers: [...manifest.layers, { mediaType: LAYER_MEDIA, digest, size: gz.length }],
  });
  index.manifests.push({ mediaType: "application/vnd.oci.image.manifest.v1+json", ...newManifest, annotations: { [REF_NAME]: BUSYBOX_TAG } });
  writeFileSync(join(layout, "index.json"), JSON.stringify(index));
  return BUSYBOX_TAG;
}
