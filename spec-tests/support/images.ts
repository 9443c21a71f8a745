// Images made by tests, by hand: layer tars (tar-stream), OCI image layouts written file by
// file, tars of layouts (oci-archive) and `docker save`-style archives (docker-archive).
//
//   const dir = tempDir();
//   const img = await makeImage({ files: { "hello.txt": "hi" } });
//   writeLayout(join(dir, "layout"), [{ image: img, name: "v1" }]);
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { busyboxPath } from "./bundle.ts";

export const sha256 = (bytes: Uint8Array | string) => `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const REF_NAME = "org.opencontainers.image.ref.name";

export const tempDir = (tag = "img") => mkdtempSync(join(tmpdir(), `bunc-test-${tag}-`));

export interface TarEntry {
  name: string;
  content?: Uint8Array | string;
  type?: "file" | "directory" | "symlink" | "link";
  linkname?: string;
  /** Default 0755 for directories, 0644 for the rest. */
  mode?: number;
}

export async function tarBytes(entries: TarEntry[]): Promise<Uint8Array> {
  const pack = tar.pack();
  for (const e of entries) {
    const content = typeof e.content === "string" ? Buffer.from(e.content) : e.content ? Buffer.from(e.content) : undefined;
    const header = { name: e.name, type: e.type ?? "file", mode: e.mode ?? (e.type === "directory" ? 0o755 : 0o644), mtime: new Date(0) } as tar.Header;
    if (e.linkname !== undefined) header.linkname = e.linkname;
    if (content) pack.entry({ ...header, size: content.length }, content);
    else pack.entry(header);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface Blob {
  bytes: Uint8Array;
  descriptor: Descriptor;
}

export interface BuiltImage {
  manifest: Blob;
  config: Blob;
  layers: Blob[];
  /** Uncompressed layer tars, for docker archives. */
  layerTars: Uint8Array[];
}

export interface ImageSpec {
  files?: Record<string, string>;
  os?: string;
  architecture?: string;
  variant?: string;
  gzip?: boolean;
  /** Extra fields merged into the manifest (to make it hostile). */
  manifestExtra?: Record<string, unknown>;
}

const blob = (mediaType: string, bytes: Uint8Array): Blob => ({ bytes, descriptor: { mediaType, digest: sha256(bytes), size: bytes.length } });

export async function makeImage(spec: ImageSpec = {}): Promise<BuiltImage> {
  const files = spec.files ?? { "hello.txt": "hello\n" };
  const layerTar = await tarBytes(Object.entries(files).map(([name, content]) => ({ name, content })));
  const layerBytes = spec.gzip ? gzipSync(layerTar) : layerTar;
  const layer = blob(spec.gzip ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar", layerBytes);
  const config = blob(
    OCI_CONFIG,
    json({
      created: "2026-01-02T03:04:05Z",
      architecture: spec.architecture ?? "amd64",
      os: spec.os ?? "linux",
      ...(spec.variant && { variant: spec.variant }),
      config: { Cmd: ["/bin/sh"] },
      rootfs: { type: "layers", diff_ids: [sha256(layerTar)] },
    }),
  );
  const manifest = blob(OCI_MANIFEST, json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers: [layer.descriptor], ...spec.manifestExtra }));
  return { manifest, config, layers: [layer], layerTars: [layerTar] };
}

/** An index over images, each entry with its platform. */
export function makeIndex(entries: { descriptor: Descriptor; platform?: Descriptor["platform"] }[], extra: Record<string, unknown> = {}): Blob {
  const manifests = entries.map((e) => ({ ...e.descriptor, ...(e.platform && { platform: e.platform }) }));
  return blob(OCI_INDEX, json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests, ...extra }));
}

export const blobsOf = (img: BuiltImage): Blob[] => [img.manifest, img.config, ...img.layers];

/** Write an OCI layout: the blobs, and index.json with the given root entries. */
export function writeLayout(dir: string, roots: { descriptor: Descriptor; name?: string }[], blobs: Blob[]): void {
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  for (const b of blobs) writeFileSync(join(dir, "blobs", "sha256", b.descriptor.digest.slice(7)), b.bytes);
  const manifests = roots.map((r) => ({ ...r.descriptor, ...(r.name !== undefined && { annotations: { [REF_NAME]: r.name } }) }));
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
}

/** Every file under dir as tar entries, names relative to dir. */
export function treeEntries(dir: string): TarEntry[] {
  const out: TarEntry[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        out.push({ name: `${relative(dir, p)}/`, type: "directory" });
        walk(p);
      } else out.push({ name: relative(dir, p), content: readFileSync(p) });
    }
  };
  walk(dir);
  return out;
}

/** A docker-save archive: manifest.json, <hex>.json configs, <hex>/layer.tar layers. */
export async function dockerArchiveEntries(images: { image: BuiltImage; tags: string[]; gzip?: boolean }[]): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const manifest = images.map(({ image, tags, gzip }) => {
    const configName = `${image.config.descriptor.digest.slice(7)}.json`;
    entries.push({ name: configName, content: image.config.bytes });
    const layers = image.layerTars.map((t, i) => {
      const name = `layer${i}-${sha256(t).slice(7, 19)}/layer.tar`;
      entries.push({ name, content: gzip ? gzipSync(t) : t });
      return name;
    });
    return { Config: configName, RepoTags: tags, Layers: layers };
  });
  entries.push({ name: "manifest.json", content: JSON.stringify(manifest) });
  return entries;
}

/** Layer entries for bin/busybox (Debian's busybox-static) and a symlink per applet. */
export function busyboxEntries(applets: readonly string[]): TarEntry[] {
  return [
    { name: "bin/", type: "directory" },
    { name: "bin/busybox", content: readFileSync(busyboxPath()), mode: 0o755 },
    ...applets.map((a): TarEntry => ({ name: `bin/${a}`, type: "symlink", linkname: "busybox" })),
  ];
}
