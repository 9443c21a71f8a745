// The pull API: resolve a reference to one image manifest (through an index, with the
// platform left to the caller's `choose`), then download blobs into a sink, a few at a time.
// Mirrors come first, then the registry (mirrors.ts); a failure at one source moves on to
// the next.
import { registryError, shown } from "./registry-error.ts";
import { type RegistryReference, formatRegistryReference, parseRegistryReference } from "./reference.ts";
import { checkDigest, digestAlgorithm, digestOf } from "./digest.ts";
import { type RegistryEndpoint, endpointsFor } from "./mirrors.ts";
import { type RegistrySession, defaultSession, errorDetail } from "./session.ts";
import { readCapped } from "./body.ts";
import {
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type RegistryDocument,
  MANIFEST_ACCEPT,
  MAX_MANIFEST_BYTES,
  isIndexType,
  parseRegistryDocument,
} from "./documents.ts";
import { type BlobProgress, type BlobTap, downloadBlob } from "./blob-download.ts";
import type { BlobSink } from "./blob-sink.ts";

export interface PullOptions {
  /** Token cache, schemes, config and credentials shared by the calls of one pull; default: the process's. */
  session?: RegistrySession;
  signal?: AbortSignal;
}

export interface PullManifestOptions extends PullOptions {
  /** Pick the manifest to pull from an index (by platform); required when the reference names an index. */
  choose?: (index: ImageIndex, indexDigest: string) => Descriptor | Promise<Descriptor>;
  /** The bytes of a document the caller already has, by digest (checked again here); a tag is then resolved with HEAD. */
  cached?: (digest: string) => Promise<Uint8Array | undefined>;
}

export interface PulledIndex {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  index: ImageIndex;
  /** The entry `choose` picked. */
  chosen: Descriptor;
}

export interface PulledManifest {
  reference: RegistryReference;
  manifestDigest: string;
  mediaType: string;
  manifest: ImageManifest;
  /** The exact bytes the digest is of, to store as they are. */
  manifestBytes: Uint8Array;
  index?: PulledIndex;
  /** Where the manifest came from (a mirror or the registry). */
  endpoint: RegistryEndpoint;
}

export interface PullBlobsOptions extends PullOptions {
  /** Downloads at once; default 3. */
  parallel?: number;
  onProgress?: (p: BlobProgress) => void;
  /** Told where each blob's bytes are as they land (a reader follows them: blob-tee.ts). */
  tap?: BlobTap;
  /** Try foreign layers' `urls` before the registry; default false. */
  followForeignUrls?: boolean;
}

interface FetchedDocument {
  digest: string;
  bytes: Uint8Array;
  doc: RegistryDocument;
  endpoint: RegistryEndpoint;
}

const DIGEST_HEADER = "docker-content-digest";

function verifyDocument(bytes: Uint8Array, expected: string | undefined, what: string): string {
  const actual = digestOf(bytes, expected ? digestAlgorithm(expected) : "sha256");
  if (expected !== undefined && actual !== expected) throw registryError(`${what}: digest mismatch: the content has digest ${actual}, expected ${expected}`);
  return actual;
}

/** A manifest or index by tag or digest from the first endpoint that serves a valid one. */
async function fetchDocument(
  session: RegistrySession,
  endpoints: RegistryEndpoint[],
  reference: string,
  expectedDigest: string | undefined,
  expectedType: string | undefined,
  opts: PullManifestOptions,
): Promise<FetchedDocument> {
  const failures: Error[] = [];
  for (const endpoint of endpoints) {
    const what = `manifest ${endpoint.apiHost}/${endpoint.repository}${expectedDigest ? `@${reference}` : `:${reference}`}`;
    try {
      return await fetchFrom(session, endpoint, reference, expectedDigest, expectedType, what, opts);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      failures.push(err as Error);
    }
  }
  if (failures.length === 1) throw failures[0]!;
  throw registryError(`no source served ${shown(reference)}: ${failures.map((e) => e.message).join("; ")}`);
}

async function fetchFrom(
  session: RegistrySession,
  endpoint: RegistryEndpoint,
  reference: string,
  expectedDigest: string | undefined,
  expectedType: string | undefined,
  what: string,
  opts: PullManifestOptions,
): Promise<FetchedDocument> {
  const path = `/v2/${endpoint.repository}/manifests/${reference}`;
  const scope = `repository:${endpoint.repository}:pull`;
  const headers = { accept: MANIFEST_ACCEPT };
  const fromCache = async (digest: string): Promise<FetchedDocument | undefined> => {
    const bytes = await opts.cached?.(digest);
    if (!bytes || digestOf(bytes, digestAlgorithm(digest)) !== digest) return undefined;
    return { digest, bytes, doc: parseRegistryDocument(bytes, null, what, expectedType), endpoint };
  };
  if (opts.cached) {
    let known = expectedDigest;
    if (known === undefined) {
      // HEAD says which digest the tag points at; a document the caller has is not fetched again.
      const head = await session.request(endpoint, path, { method: "HEAD", headers, scope, signal: opts.signal });
      await head.body?.cancel().catch(() => {});
      const header = head.headers.get(DIGEST_HEADER);
      if (head.status === 200 && header) known = checkDigest(header, `${what}: ${DIGEST_HEADER}`);
    }
    const hit = known !== undefined ? await fromCache(known) : undefined;
    if (hit) return hit;
  }
  const res = await session.request(endpoint, path, { headers, scope, signal: opts.signal });
  if (res.status === 404) throw registryError(`${what}: not found${await errorDetail(res)}`);
  if (res.status !== 200) throw registryError(`${what}: answered ${res.status}${await errorDetail(res)}`);
  const bytes = await readCapped(res, MAX_MANIFEST_BYTES, what);
  const digest = verifyDocument(bytes, expectedDigest, what);
  const header = res.headers.get(DIGEST_HEADER);
  if (header !== null && expectedDigest === undefined) {
    checkDigest(header, `${what}: ${DIGEST_HEADER}`);
    if (digestAlgorithm(header) === "sha256" && header !== digest) {
      throw registryError(`${what}: digest mismatch: the content has digest ${digest}, the registry's ${DIGEST_HEADER} says ${header}`);
    }
  }
  return { digest, bytes, doc: parseRegistryDocument(bytes, res.headers.get("content-type"), what, expectedType), endpoint };
}

/** Resolve `ref` to one image manifest: directly, or through an index and `choose`. */
export async function pullManifest(ref: string | RegistryReference, opts: PullManifestOptions = {}): Promise<PulledManifest> {
  const reference = typeof ref === "string" ? parseRegistryReference(ref) : ref;
  const session = opts.session ?? defaultSession();
  const name = formatRegistryReference(reference);
  const top = await fetchDocument(session, endpointsFor(reference, session.config, session.insecureRegistries), reference.digest ?? reference.tag!, reference.digest, undefined, opts);
  if (top.doc.kind === "manifest") {
    return { reference, manifestDigest: top.digest, mediaType: top.doc.mediaType, manifest: top.doc.manifest, manifestBytes: top.bytes, endpoint: top.endpoint };
  }
  const index = top.doc.index;
  if (!opts.choose) throw registryError(`${name} is an index of ${index.manifests.length} manifests (${top.digest}): a platform must be chosen`);
  const chosen = await opts.choose(index, top.digest);
  if (!index.manifests.some((d) => d.digest === chosen.digest && d.size === chosen.size)) {
    throw registryError(`${name}: the chosen descriptor ${shown(chosen.digest)} is not an entry of the index ${top.digest}`);
  }
  if (isIndexType(chosen.mediaType)) throw registryError(`${name}: index ${top.digest} points at another index (${chosen.digest}): nested indexes are not followed`);
  const byDigest = { ...reference, digest: chosen.digest };
  const child = await fetchDocument(session, endpointsFor(byDigest, session.config, session.insecureRegistries), chosen.digest, chosen.digest, chosen.mediaType, opts);
  if (child.bytes.length !== chosen.size) throw registryError(`manifest ${chosen.digest}: ${child.bytes.length} bytes, the index says ${chosen.size}`);
  if (child.doc.kind !== "manifest") throw registryError(`${name}: index ${top.digest} points at another index (${chosen.digest}): nested indexes are not followed`);
  return {
    reference,
    manifestDigest: child.digest,
    mediaType: child.doc.mediaType,
    manifest: child.doc.manifest,
    manifestBytes: child.bytes,
    index: { digest: top.digest, mediaType: top.doc.mediaType, bytes: top.bytes, index, chosen },
    endpoint: child.endpoint,
  };
}

/** Every endpoint a blob of `ref` may come from: mirrors for tags and for digests, then the registry. */
function blobEndpoints(session: RegistrySession, ref: RegistryReference): RegistryEndpoint[] {
  const all = [
    ...endpointsFor({ ...ref, digest: undefined, tag: ref.tag ?? "latest" }, session.config, session.insecureRegistries),
    ...endpointsFor({ ...ref, digest: ref.digest ?? `sha256:${"0".repeat(64)}` }, session.config, session.insecureRegistries),
  ];
  const seen = new Set<string>();
  const unique = all.filter((e) => {
    const key = `${e.apiHost}/${e.repository}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  // The registry itself last.
  return [...unique.filter((e) => e.mirror), ...unique.filter((e) => !e.mirror)];
}

/** Download the blobs `descriptors` name into `sink`, `parallel` at a time; the first failure stops the rest. */
export async function pullBlobs(ref: string | RegistryReference, descriptors: readonly Descriptor[], sink: BlobSink, opts: PullBlobsOptions = {}): Promise<void> {
  const reference = typeof ref === "string" ? parseRegistryReference(ref) : ref;
  const session = opts.session ?? defaultSession();
  const parallel = opts.parallel ?? 3;
  if (!Number.isInteger(parallel) || parallel < 1) throw registryError(`parallel: must be a whole number of at least 1, got ${shown(String(parallel))}`);
  const unique = new Map<string, Descriptor>();
  descriptors.forEach((d, i) => {
    checkDigest(d.digest, `descriptors[${i}].digest`);
    if (!Number.isSafeInteger(d.size) || d.size < 0) throw registryError(`descriptors[${i}].size: must be a whole number of bytes, got ${shown(String(d.size))}`);
    const seen = unique.get(d.digest);
    if (seen && seen.size !== d.size) throw registryError(`descriptors[${i}]: ${d.digest} appears with sizes ${seen.size} and ${d.size}`);
    unique.set(d.digest, d);
  });
  const endpoints = blobEndpoints(session, reference);
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  const queue = [...unique.values()];
  let firstError: unknown;
  const worker = async () => {
    for (let d = queue.shift(); d !== undefined && firstError === undefined; d = queue.shift()) {
      try {
        await downloadBlob({ session, endpoints, followForeignUrls: opts.followForeignUrls, onProgress: opts.onProgress, tap: opts.tap, signal }, d, sink);
      } catch (err) {
        if (firstError === undefined) {
          firstError = err;
          stop.abort(err);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, worker));
  if (firstError !== undefined) throw firstError;
}
