// The documents a registry serves for a reference, checked before use: OCI image manifest and
// index, docker schema2 manifest and manifest list (image-spec manifest.md, image-index.md;
// docker's manifest v2 schema 2). Objects are loose: unknown fields are ignored, as the specs
// say. What a document is follows from three witnesses that must agree: the Content-Type,
// the embedded mediaType, and its shape; a document with both `manifests` and
// `layers`/`config` is refused whatever it claims (CVE-2021-41190). Every digest inside is
// checked against the grammar before it is used (CVE-2024-3727).
import * as v from "valibot";
import { registryError, shown } from "./registry-error.ts";
import { checkDigest } from "./digest.ts";

import { MAX_DOCUMENT_BYTES } from "../limits.ts";
import {
  ImageIndexSchema as IndexSchema,
  ImageManifestSchema as ManifestSchema,
  INDEX_MEDIA_TYPES as INDEX_TYPES,
  MANIFEST_MEDIA_TYPES as MANIFEST_TYPES,
  MEDIA_TYPE as MEDIA_TYPES,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from "../../spec/image-manifest.ts";

export { MEDIA_TYPES, type Descriptor, type ImageIndex, type ImageManifest };

const SCHEMA1 = /^application\/vnd\.docker\.distribution\.manifest\.v1\+(?:prettyjws|json)$/;

/** What a manifest request accepts, in order of preference. */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.dockerManifest].join(", ");

/** Manifests and indexes bigger than this are refused unread (containerd and containers/image use the same). */
export const MAX_MANIFEST_BYTES = MAX_DOCUMENT_BYTES;

export type RegistryDocument = { kind: "manifest"; mediaType: string; manifest: ImageManifest } | { kind: "index"; mediaType: string; index: ImageIndex };

export const isIndexType = (t: string) => INDEX_TYPES.includes(t);
export const isManifestType = (t: string) => MANIFEST_TYPES.includes(t);

function checkShape<S extends v.GenericSchema>(schema: S, doc: unknown, what: string): v.InferOutput<S> {
  const result = v.safeParse(schema, doc, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = (issue.path ?? []).map((p) => (typeof p.key === "number" ? `[${p.key}]` : `.${String(p.key)}`)).join("").replace(/^\./, "") || "top level";
  throw registryError(`${what}: ${field}: ${issue.input === undefined ? "required but missing" : issue.message}`);
}

/**
 * Decide what `bytes` are and check them. `contentType` is the response's Content-Type (its
 * parameters dropped), `expected` the media type of the descriptor that led here, if any.
 */
export function parseRegistryDocument(bytes: Uint8Array, contentType: string | null, what: string, expected?: string): RegistryDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw registryError(`${what}: not a JSON document: ${(err as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw registryError(`${what}: not a JSON object`);
  const o = doc as Record<string, unknown>;
  const hasManifests = "manifests" in o;
  const hasImageParts = "layers" in o || "config" in o;
  if (hasManifests && hasImageParts) throw registryError(`${what}: has both "manifests" and "layers"/"config": an index and a manifest at once, refused`);
  const embedded = typeof o.mediaType === "string" ? o.mediaType : undefined;
  if (o.mediaType !== undefined && embedded === undefined) throw registryError(`${what}: mediaType must be a string`);
  const header = contentType?.split(";")[0]!.trim().toLowerCase() || undefined;
  const known = (t?: string) => t !== undefined && (isIndexType(t) || isManifestType(t));
  for (const t of [header, embedded, expected]) {
    if (t !== undefined && SCHEMA1.test(t)) throw registryError(`${what}: docker schema 1 manifests (${t}) are not supported`);
  }
  if (embedded !== undefined && !known(embedded)) throw registryError(`${what}: mediaType ${shown(embedded)} is not an image manifest or index`);
  // A generic Content-Type (application/json, octet-stream) says nothing; a known one must agree.
  if (known(header) && embedded !== undefined && header !== embedded) {
    throw registryError(`${what}: Content-Type ${shown(header!)} contradicts the document's mediaType ${shown(embedded)}`);
  }
  const mediaType = embedded ?? (known(header) ? header! : undefined) ?? (known(expected) ? expected! : undefined) ?? (hasManifests ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest);
  if (expected !== undefined && known(expected) && expected !== mediaType) {
    throw registryError(`${what}: the descriptor says ${shown(expected)}, the document is ${shown(mediaType)}`);
  }
  if (isIndexType(mediaType)) {
    if (hasImageParts || !hasManifests) throw registryError(`${what}: claims to be an index (${mediaType}) but has no "manifests"`);
    const index = checkShape(IndexSchema, doc, what);
    index.manifests.forEach((d, i) => checkDescriptor(d, `${what}: manifests[${i}]`));
    return { kind: "index", mediaType, index };
  }
  if (hasManifests || !hasImageParts) throw registryError(`${what}: claims to be a manifest (${mediaType}) but has no "config" and "layers"`);
  const manifest = checkShape(ManifestSchema, doc, what);
  checkDescriptor(manifest.config, `${what}: config`);
  manifest.layers.forEach((d, i) => checkDescriptor(d, `${what}: layers[${i}]`));
  return { kind: "manifest", mediaType, manifest };
}

export function checkDescriptor(d: Descriptor, what: string): void {
  checkDigest(d.digest, `${what}.digest`);
}
