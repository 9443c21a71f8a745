// The one entry point other parts of bunc use to read an image, wherever it is:
//
//   const image = await openImage("oci:./layout:v1", { store: "/var/lib/bunc" });
//   image.config.config?.Entrypoint; for (const l of image.layers) l.open() …
//
// openImage parses the reference, finds the image (a store name, oci:, oci-archive:,
// docker-archive:, or a registry's: pulled into the store first, pull-image.ts), follows an index to the manifest for the platform, and reads and checks
// the manifest and config. Layers are not read: each LayerSource opens its raw (compressed)
// bytes on demand; pass them through verifyingStream() (digest.ts) to check them.
import { basename } from "node:path";
import { BuncError } from "../errors.ts";
import type { ImageConfig } from "../spec/image-config.ts";
import { MEDIA_TYPE, REF_NAME_ANNOTATION, type Descriptor, type ImageManifest } from "../spec/image-manifest.ts";
import type { BlobSource, RootSelection } from "./blob-source.ts";
import type { PullImageOptions } from "./pull-image.ts";
import { kindOfMediaType, parseConfig, parseIndex, parseManifest } from "./documents.ts";
import { DockerArchiveSource } from "./docker-archive-source.ts";
import { LayoutSource } from "./layout-source.ts";
import { MAX_DOCUMENT_BYTES, MAX_INDEX_DEPTH } from "./limits.ts";
import { OciArchiveSource } from "./oci-archive-source.ts";
import { formatPlatform, hostPlatform, platformRank, type Platform } from "./platform.ts";
import { formatImageName, looksLikeRegistry, parseImageName, parseImageReference, type ImageName } from "./reference.ts";
import { formatRegistryReference, parseRegistryReference } from "./registry/reference.ts";

export type { Platform } from "./platform.ts";
// What a caller of openImage needs besides it, from one module.
export { verifyingStream } from "./digest.ts";
export { formatPlatform, hostPlatform, parsePlatform } from "./platform.ts";

export interface LayerSource {
  digest: string;
  mediaType: string;
  size: number;
  /** From the config's rootfs.diff_ids: the digest of the uncompressed tar. */
  diffId: string;
  /** The layer's raw (maybe compressed) bytes, not yet checked against `digest`. */
  open(): ReadableStream<Uint8Array>;
}

export interface ResolvedImage {
  /** The reference as given. */
  reference: string;
  /** The name the image carries where it was found (store name, ref.name, RepoTags). */
  name?: string;
  manifestDigest: string;
  manifestMediaType: string;
  manifestBytes: Uint8Array;
  manifest: ImageManifest;
  configDigest: string;
  configBytes: Uint8Array;
  config: ImageConfig;
  /** The platform the config declares. */
  platform: Platform;
  layers: LayerSource[];
}

export interface OpenImageOptions {
  /** bunc's store (an OCI layout), where plain names are looked up. */
  store: string;
  /** Which manifest of an index to take; the host's when absent. */
  platform?: Platform;
  /** When the image is pulled: reads its layers as they download (pull-image.ts). */
  streamLayers?: PullImageOptions["streamLayers"];
}

const CONFIG_MEDIA_TYPES: readonly string[] = [MEDIA_TYPE.ociConfig, MEDIA_TYPE.dockerConfig];

/** Store names: "busybox" means busybox:latest; name@digest the entry of that digest. */
export function selectStoreImage(store: LayoutSource, name: ImageName): RootSelection {
  let manifests: Descriptor[];
  try {
    manifests = store.readIndex().manifests;
  } catch (err) {
    if (err instanceof BuncError && /not an OCI image layout/.test(err.message)) manifests = [];
    else throw err;
  }
  const matching = (n: ImageName) => {
    const wanted = formatImageName(n);
    return manifests.filter((d) => {
      const ref = d.annotations?.[REF_NAME_ANNOTATION];
      if (ref === undefined) return false;
      if (n.digest === undefined) return ref === wanted;
      if (d.digest !== n.digest) return false;
      try {
        return parseImageName(ref).repository === n.repository;
      } catch {
        return false;
      }
    });
  };
  let found = name;
  let candidates = matching(name);
  if (candidates.length === 0) {
    // A short name finds what a pull stored under its full name: alpine:3 → docker.io/library/alpine:3.
    const full = normalizedName(name);
    if (full !== undefined) {
      candidates = matching(full);
      found = full;
    }
  }
  const wanted = formatImageName(name);
  if (candidates.length === 0) {
    throw new BuncError("not-found", `image ${JSON.stringify(wanted)} is not in the store ${store.dir}; "bunc pull ${wanted}" or "bunc import SOURCE ${wanted}" puts it there`);
  }
  return { candidates, name: found.digest === undefined ? formatImageName(found) : `${found.repository}@${found.digest}` };
}

/** The name as docker reads it (docker.io and library/ filled in), when that differs. */
function normalizedName(name: ImageName): ImageName | undefined {
  try {
    const full = parseImageName(formatRegistryReference(parseRegistryReference(formatImageName(name))));
    return formatImageName(full) === formatImageName(name) ? undefined : full;
  } catch {
    return undefined;
  }
}

/** Find the source and the root descriptors a reference names. */
export async function locate(ref: string, store: string): Promise<{ source: BlobSource; selection: RootSelection }> {
  const r = parseImageReference(ref);
  switch (r.transport) {
    case "registry":
      throw new BuncError("unsupported", `${formatImageName(r.name)} is in a registry: it is read from the store once pulled ("bunc pull ${formatImageName(r.name)}")`);
    case "store": {
      const source = new LayoutSource(store, `store ${store}`);
      return { source, selection: selectStoreImage(source, r.name) };
    }
    case "oci": {
      const source = new LayoutSource(r.dir);
      return { source, selection: withDirName(await source.select(r.ref), r.dir) };
    }
    case "oci-archive": {
      const source = await OciArchiveSource.open(r.file);
      return { source, selection: withDirName(await source.select(r.ref), r.file.replace(/\.tar$/, "")) };
    }
    case "docker-archive": {
      const source = await DockerArchiveSource.open(r.file);
      return { source, selection: await source.selectImage(r.name, r.index) };
    }
  }
}

// In oci:DIR:REF a bare tag ("latest") names the image DIR's base name with that tag, so
// oci:/images/busybox:1.36 imports as busybox:1.36; a full name ("busybox:1.36") stays.
function withDirName(sel: RootSelection, path: string): RootSelection {
  if (sel.name === undefined || /[:/@]/.test(sel.name)) return sel;
  const base = basename(path).toLowerCase();
  try {
    return { ...sel, name: formatImageName(parseImageName(`${base}:${sel.name}`)) };
  } catch {
    return sel;
  }
}

interface Chosen {
  descriptor: Descriptor;
  bytes: Uint8Array;
  manifest: ImageManifest;
}

async function readManifest(source: BlobSource, d: Descriptor): Promise<Chosen> {
  const what = `${source.label}: manifest ${d.digest}`;
  const bytes = await source.readBlob(d, MAX_DOCUMENT_BYTES, what);
  return { descriptor: d, bytes, manifest: parseManifest(bytes, d.mediaType, what) };
}

async function readConfig(source: BlobSource, m: ImageManifest): Promise<{ bytes: Uint8Array; config: ImageConfig }> {
  const what = `${source.label}: config ${m.config.digest}`;
  if (!CONFIG_MEDIA_TYPES.includes(m.config.mediaType)) {
    throw new BuncError("image", `${what}: mediaType ${JSON.stringify(m.config.mediaType)} is not an image config: not a container image`);
  }
  const bytes = await source.readBlob(m.config, MAX_DOCUMENT_BYTES, what);
  return { bytes, config: parseConfig(bytes, what) };
}

interface Candidate {
  descriptor: Descriptor;
  platform: Platform;
  chosen?: Chosen;
}

// Every manifest reachable from `roots` through indexes, with its platform: from the
// descriptor when it says, else from the manifest's config.
async function flatten(source: BlobSource, roots: Descriptor[], depth: number, out: Candidate[]): Promise<void> {
  for (const d of roots) {
    const kind = kindOfMediaType(d.mediaType);
    if (kind === "index") {
      if (depth >= MAX_INDEX_DEPTH) throw new BuncError("image", `${source.label}: index ${d.digest}: indexes nest deeper than ${MAX_INDEX_DEPTH}`);
      const what = `${source.label}: index ${d.digest}`;
      const index = parseIndex(await source.readBlob(d, MAX_DOCUMENT_BYTES, what), d.mediaType, what);
      await flatten(source, index.manifests, depth + 1, out);
    } else if (kind === "manifest") {
      if (d.platform) {
        out.push({ descriptor: d, platform: d.platform });
      } else {
        const chosen = await readManifest(source, d);
        const { config } = await readConfig(source, chosen.manifest);
        out.push({ descriptor: d, platform: { os: config.os, architecture: config.architecture, variant: config.variant ?? undefined }, chosen });
      }
    }
    // Other entries of an index (attestations, signatures, artifacts) are not images.
  }
}

async function choose(source: BlobSource, roots: Descriptor[], want: Platform | undefined): Promise<Chosen> {
  for (const d of roots) {
    if (!kindOfMediaType(d.mediaType)) throw new BuncError("image", `${source.label}: ${d.digest}: mediaType ${JSON.stringify(d.mediaType)} is not an image manifest or index`);
  }
  // One plain manifest is the image, whatever platform it is for, unless one was asked for.
  if (roots.length === 1 && kindOfMediaType(roots[0]!.mediaType) === "manifest" && want === undefined) return readManifest(source, roots[0]!);
  const target = want ?? hostPlatform();
  const all: Candidate[] = [];
  await flatten(source, roots, 0, all);
  let best: Candidate | undefined;
  let bestRank = Infinity;
  for (const c of all) {
    const rank = platformRank(target, c.platform);
    if (rank !== undefined && rank < bestRank) {
      best = c;
      bestRank = rank;
    }
  }
  if (!best) {
    const have = [...new Set(all.map((c) => formatPlatform(c.platform)))];
    throw new BuncError("image", `${source.label}: no image for platform ${formatPlatform(target)}; it has ${have.length ? have.join(", ") : "no platform-specific images"}`);
  }
  return best.chosen ?? readManifest(source, best.descriptor);
}

// A registry reference (docker://…, or a name with a registry host that the store does not
// hold) is pulled into the store first and read from there.
async function locateOrPull(ref: string, opts: OpenImageOptions): Promise<{ source: BlobSource; selection: RootSelection }> {
  const r = parseImageReference(ref);
  if (r.transport === "registry") return locate(await pullIntoStore(ref, opts), opts.store);
  try {
    return await locate(ref, opts.store);
  } catch (err) {
    if (r.transport === "store" && looksLikeRegistry(r.name) && err instanceof BuncError && err.code === "not-found") {
      return locate(await pullIntoStore(ref, opts), opts.store);
    }
    throw err;
  }
}

/** Pull `ref`; returns the store name it now has (by digest when it was pulled by digest). */
async function pullIntoStore(ref: string, opts: OpenImageOptions): Promise<string> {
  const { pullImage } = await import("./pull-image.ts");
  const pulled = await pullImage(ref, { store: opts.store, ...(opts.platform && { platform: opts.platform }), ...(opts.streamLayers && { streamLayers: opts.streamLayers }) });
  const name = parseImageName(pulled.name);
  // An index's digest names the index, not the manifest the store holds for this platform.
  return name.digest === undefined ? pulled.name : `${name.repository}@${pulled.manifestDigest}`;
}

/** Read an image from any reference: see the header of this file. */
export async function openImage(ref: string, opts: OpenImageOptions): Promise<ResolvedImage> {
  const { source, selection } = await locateOrPull(ref, opts);
  const chosen = await choose(source, selection.candidates, opts.platform);
  const { manifest } = chosen;
  const { bytes: configBytes, config } = await readConfig(source, manifest);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new BuncError("image", `${source.label}: config ${manifest.config.digest}: rootfs.diff_ids has ${diffIds.length} entries for ${manifest.layers.length} layers`);
  }
  const layers = manifest.layers.map((l, i): LayerSource => {
    const desc = l;
    return { digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: diffIds[i]!, open: () => source.openBlob(desc) };
  });
  const platform: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant) platform.variant = config.variant;
  const image: ResolvedImage = {
    reference: ref,
    manifestDigest: chosen.descriptor.digest,
    manifestMediaType: chosen.descriptor.mediaType,
    manifestBytes: chosen.bytes,
    manifest,
    configDigest: manifest.config.digest,
    configBytes,
    config,
    platform,
    layers,
  };
  if (selection.name !== undefined) image.name = selection.name;
  return image;
}
