// Test images written as an OCI image layout: layers made with tar-stream, compressed with
// node:zlib (gzip or zstd), configs, manifests and a multi-platform index; every blob kept in
// memory too, so a test can compare what it pulled byte for byte.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, zstdCompressSync } from "node:zlib";
import tar from "tar-stream";

// A type, not an interface, so a Blob passes where a descriptor (an open object) is asked.
export type Blob = {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Uint8Array;
};

export const sha256 = (b: Uint8Array) => `sha256:${new Bun.CryptoHasher("sha256").update(b).digest("hex")}`;

export function blob(mediaType: string, bytes: Uint8Array): Blob {
  return { mediaType, digest: sha256(bytes), size: bytes.length, bytes };
}

export const descriptor = (b: Blob, extra: Record<string, unknown> = {}) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size, ...extra });

/** A tar of `files` (name → content). */
export async function tarOf(files: Record<string, Uint8Array | string>): Promise<Uint8Array> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) {
    const data = typeof content === "string" ? Buffer.from(content) : Buffer.from(content);
    pack.entry({ name, size: data.length, mode: 0o644, mtime: new Date(0) }, data);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

export async function layer(files: Record<string, Uint8Array | string>, compression: "gzip" | "zstd"): Promise<Blob> {
  const raw = await tarOf(files);
  return compression === "gzip"
    ? blob("application/vnd.oci.image.layer.v1.tar+gzip", new Uint8Array(gzipSync(raw)))
    : blob("application/vnd.oci.image.layer.v1.tar+zstd", new Uint8Array(zstdCompressSync(raw)));
}

export interface TestImage {
  config: Blob;
  layers: Blob[];
  manifest: Blob;
}

export function image(layers: Blob[], platform = { architecture: "amd64", os: "linux" }): TestImage {
  const config = blob(
    "application/vnd.oci.image.config.v1+json",
    Buffer.from(JSON.stringify({ ...platform, config: { Cmd: ["/bin/sh"] }, rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) } })),
  );
  const manifest = blob(
    "application/vnd.oci.image.manifest.v1+json",
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: descriptor(config), layers: layers.map((l) => descriptor(l)) })),
  );
  return { config, layers, manifest };
}

export function index(entries: { image: TestImage; platform: { architecture: string; os: string; variant?: string } }[]): Blob {
  return blob(
    "application/vnd.oci.image.index.v1+json",
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: entries.map((e) => descriptor(e.image.manifest, { platform: e.platform })),
      }),
    ),
  );
}

/** Random bytes that do not compress, so a layer is as big as asked. */
export function noise(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(size, at + 65536)));
  return out;
}

/** Write an OCI layout holding `blobs`, with `refs` (tag → top blob) in index.json. */
export function writeLayout(dir: string, blobs: Blob[], refs: Record<string, Blob>): void {
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  for (const b of blobs) writeFileSync(join(dir, "blobs", "sha256", b.digest.slice(7)), b.bytes);
  const manifests = Object.entries(refs).map(([tag, b]) => descriptor(b, { annotations: { "org.opencontainers.image.ref.name": tag } }));
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests }));
}
