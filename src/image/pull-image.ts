// `bunc pull REF`: a registry image into the store. The manifest (through an index, chosen
// by platform with the store's rules, platform.ts) and then the config and layers are
// downloaded into the store's temp area (store-blob-sink.ts), 3 at a time, resumable; only
// when all of them are there and verified does one commit under the store lock move them
// under blobs/ and point the normalized name ("docker.io/library/alpine:3") at the manifest.
// A pull that fails or is killed so leaves index.json and blobs/ as they were.
//
// A caller may read the layers while they download (`streamLayers`: run --image unpacks them
// so): each layer's bytes as they land in its partial file, through a BlobTee; a layer's
// stream ends once the blob is verified. The download and the reading go on together; the
// first to fail stops the other, and the pull is committed only when both succeeded. A
// reader whose bytes a restarted download voided is let fail without failing the pull: its
// caller finds its work undone and reads the stored blobs.
import { constants, openSync, readFileSync, rmSync } from "node:fs";
import { BuncError } from "../errors.ts";
import type { Descriptor } from "../spec/image-manifest.ts";
import type { ImageConfig } from "../spec/image-config.ts";
import { parseConfig } from "./documents.ts";
import { MAX_DOCUMENT_BYTES } from "./limits.ts";
import { formatPlatform, hostPlatform, platformRank, type Platform } from "./platform.ts";
import type { BlobProgress } from "./registry/blob-download.ts";
import { isIndexType, type ImageIndex } from "./registry/documents.ts";
import { loadRegistriesConfig } from "./registry/mirrors.ts";
import { BlobTee } from "./registry/blob-tee.ts";
import { pullBlobs, pullManifest } from "./registry/pull.ts";
import { formatRegistryReference, parseRegistryReference, type RegistryReference } from "./registry/reference.ts";
import { RegistrySession } from "./registry/session.ts";
import { StoreBlobSink } from "./store-blob-sink.ts";
import { ImageStore, Staging } from "./store.ts";

export type { BlobProgress } from "./registry/blob-download.ts";

/** Overrides the registries config path (default /etc/bunc/registries.json). */
export const REGISTRIES_CONF_ENV = "BUNC_REGISTRIES_CONF";

export interface PullImageOptions {
  store: string;
  /** Which manifest of an index to take; the host's when absent. */
  platform?: Platform;
  /** Registries config file; else $BUNC_REGISTRIES_CONF, else the default file. */
  registriesConf?: string;
  /** Allow plain HTTP and unverified TLS for the reference's registry (--tls-verify=false). */
  insecure?: boolean;
  /** For tests and embedders: a ready session (then registriesConf and insecure are ignored). */
  session?: RegistrySession;
  /** Progress of each layer, as the downloader reports it. */
  onProgress?: (p: BlobProgress) => void;
  /**
   * Called once the config is read, before any layer is fetched: may start reading the
   * layers as they download (see the header) and return that task, or return undefined.
   */
  streamLayers?: (image: PullingImage) => Promise<void> | undefined;
}

/** A layer of an image being pulled; open() streams its bytes as they arrive. */
export interface ArrivingLayer {
  digest: string;
  mediaType: string;
  size: number;
  /** From the config's rootfs.diff_ids. */
  diffId: string;
  open(): ReadableStream<Uint8Array>;
}

export interface PullingImage {
  name: string;
  config: ImageConfig;
  layers: ArrivingLayer[];
}

export interface PullImageResult {
  /** The name the image is stored under: the normalized reference. */
  name: string;
  manifestDigest: string;
  platform: Platform;
  /** Blobs that were not in the store before. */
  blobsAdded: number;
}

/** The store name a registry reference is kept under: docker.io/library/alpine:latest. */
export function pulledName(ref: RegistryReference): string {
  return formatRegistryReference(ref);
}

function sessionFor(ref: RegistryReference, opts: PullImageOptions): RegistrySession {
  if (opts.session) return opts.session;
  const conf = opts.registriesConf ?? (process.env[REGISTRIES_CONF_ENV] || undefined);
  return new RegistrySession({ config: loadRegistriesConfig(conf), insecureRegistries: opts.insecure ? [ref.registry] : [] });
}

/** The entry of `index` for `want`, by platform.ts's ranking; an error lists what there is. */
export function chooseFromIndex(index: ImageIndex, want: Platform, what: string): Descriptor {
  let best: Descriptor | undefined;
  let bestRank = Infinity;
  const have: string[] = [];
  for (const d of index.manifests) {
    if (isIndexType(d.mediaType) || !d.platform) continue;
    // Attestations and signatures sit in indexes as unknown/unknown: not images to offer.
    if (d.platform.os !== "unknown") have.push(formatPlatform(d.platform));
    const rank = platformRank(want, d.platform);
    if (rank !== undefined && rank < bestRank) {
      best = d;
      bestRank = rank;
    }
  }
  if (!best) {
    const list = [...new Set(have)];
    throw new BuncError("image", `${what}: no image for platform ${formatPlatform(want)}; it has ${list.length ? list.join(", ") : "no platform-specific images"}`);
  }
  return best;
}

/** Pull `reference` into the store: see the header of this file. */
export async function pullImage(reference: string, opts: PullImageOptions): Promise<PullImageResult> {
  const ref = parseRegistryReference(reference);
  const name = pulledName(ref);
  const session = sessionFor(ref, opts);
  const store = new ImageStore(opts.store);
  const sink = new StoreBlobSink(store);
  // Documents the store (or an earlier pull) has are not fetched again: a tag costs a HEAD.
  const cached = async (digest: string) => {
    for (const path of [store.blobFile(digest), sink.completePath(digest)]) {
      try {
        const bytes = readFileSync(path);
        if (bytes.length <= MAX_DOCUMENT_BYTES) return new Uint8Array(bytes);
      } catch {}
    }
    return undefined;
  };
  const want = opts.platform ?? hostPlatform();
  // The manifest before the store is touched: a reference that names nothing makes no store.
  const pulled = await pullManifest(ref, {
    session,
    cached,
    choose: (index, digest) => chooseFromIndex(index, want, `${name} (index ${digest})`),
  });
  const { manifest } = pulled;
  store.ensure();
  // Made under the store lock, so a gc either ran before it or sees it and keeps the temp files.
  const staging = await store.withLock(() => store.newStaging());
  try {
    // The config first: its platform is checked before any layer is fetched.
    sink.expect(manifest.config.digest, manifest.config.size);
    await pullBlobs(pulled.reference, [manifest.config], sink, { session });
    const configBytes = await cached(manifest.config.digest);
    if (!configBytes) throw new BuncError("image", `${name}: config ${manifest.config.digest} was downloaded but cannot be read back`);
    const config = parseConfig(configBytes, `${name}: config ${manifest.config.digest}`);
    const platform: Platform = { os: config.os, architecture: config.architecture };
    if (config.variant) platform.variant = config.variant;
    if (!pulled.index && opts.platform && platformRank(opts.platform, platform) === undefined) {
      throw new BuncError("image", `${name}: the image is for platform ${formatPlatform(platform)}, not ${formatPlatform(opts.platform)}; it has no other`);
    }
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new BuncError("image", `${name}: config ${manifest.config.digest}: rootfs.diff_ids has ${config.rootfs.diff_ids.length} entries for ${manifest.layers.length} layers`);
    }
    for (const l of manifest.layers) sink.expect(l.digest, l.size);
    const blobOpts = { session, parallel: 3, ...(opts.onProgress && { onProgress: opts.onProgress }) };
    if (opts.streamLayers) await pullStreaming(opts.streamLayers, { name, config, layers: manifest.layers }, (extra) => pullBlobs(pulled.reference, manifest.layers, sink, { ...blobOpts, ...extra }), store, sink);
    else await pullBlobs(pulled.reference, manifest.layers, sink, blobOpts);
    return await commitPull(store, sink, staging, { name, pulled: { ...pulled, configBytes }, platform });
  } finally {
    staging.dispose();
  }
}

/** The layers downloaded while `streamLayers` reads them: see the header. */
async function pullStreaming(
  streamLayers: NonNullable<PullImageOptions["streamLayers"]>,
  image: { name: string; config: ImageConfig; layers: Descriptor[] },
  download: (extra: { tap: BlobTee; signal: AbortSignal }) => Promise<void>,
  store: ImageStore,
  sink: StoreBlobSink,
): Promise<void> {
  // Another pull's commit may move a complete file under blobs/ meanwhile: both places, twice.
  const openStored = (digest: string) => {
    for (const path of [store.blobFile(digest), sink.completePath(digest), store.blobFile(digest)]) {
      try {
        return openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch {}
    }
    return undefined;
  };
  const tee = new BlobTee(openStored);
  const stop = new AbortController();
  const fail = (err: unknown) => {
    tee.abort(err);
    stop.abort(err);
  };
  try {
    const layers = image.layers.map(
      (l, i): ArrivingLayer => ({
        digest: l.digest,
        mediaType: l.mediaType,
        size: l.size,
        diffId: image.config.rootfs.diff_ids[i]!,
        open: () => tee.open(l, `${image.name}: layer ${i + 1} (${l.digest})`),
      }),
    );
    const task = streamLayers({ name: image.name, config: image.config, layers });
    // Each side's failure stops the other; the first one in time is the one reported. A
    // reader that fails on bytes not verified yet waits for their verdict first: a blob that
    // does not verify is the cause, named with both digests (not the corrupt gzip it made).
    // A reader given bytes that a restarted download then voided fails for nothing: the
    // pull goes on, and `voided` tells the caller to read the stored blobs instead.
    const readerFailed = async (err: unknown) => {
      await tee.settled();
      if (!tee.voided) fail(err);
    };
    await Promise.all([download({ tap: tee, signal: stop.signal }).catch(fail), task?.catch(readerFailed)]);
    if (tee.failure) throw tee.failure.err;
  } finally {
    tee.close();
  }
}

interface Pulled {
  manifestDigest: string;
  mediaType: string;
  manifestBytes: Uint8Array;
  manifest: { config: Descriptor; layers: Descriptor[] };
  configBytes: Uint8Array;
}

// Hand the downloaded blobs to the staging area, commit it with the manifest, and drop the
// temp files of blobs the store turned out to have already.
async function commitPull(store: ImageStore, sink: StoreBlobSink, staging: Staging, p: { name: string; pulled: Pulled; platform: Platform }): Promise<PullImageResult> {
  const { pulled } = p;
  const leftovers: string[] = [];
  for (const d of [pulled.manifest.config, ...pulled.manifest.layers]) {
    if (sink.inStore(d.digest, d.size) || staging.blobs.some((b) => b.digest === d.digest)) continue;
    const temp = sink.completePath(d.digest);
    staging.blobs.push({ digest: d.digest, size: d.size, temp });
    leftovers.push(temp);
  }
  if (!sink.inStore(pulled.manifestDigest, pulled.manifestBytes.length)) staging.addBytes(pulled.manifestDigest, pulled.manifestBytes);
  const descriptor: Descriptor = { mediaType: pulled.mediaType, digest: pulled.manifestDigest, size: pulled.manifestBytes.length, platform: { ...p.platform } };
  const { blobsAdded } = await store.commit(staging, p.name, descriptor);
  for (const temp of leftovers) rmSync(temp, { force: true });
  return { name: p.name, manifestDigest: pulled.manifestDigest, platform: p.platform, blobsAdded };
}
