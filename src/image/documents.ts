// Turning the bytes of a manifest, an index or a config into checked objects. A document is
// what its descriptor says it is and nothing else: an index with `layers` or `config`, a
// manifest with `manifests`, or a `mediaType` field that disagrees with the descriptor's is
// refused (CVE-2021-41190: one digest read as a manifest or as an index).
import * as v from "valibot";
import { BuncError } from "../errors.ts";
import { ImageConfigSchema, type ImageConfig } from "../spec/image-config.ts";
import {
  DescriptorSchema,
  ImageIndexSchema,
  ImageManifestSchema,
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from "../spec/image-manifest.ts";
import { checkDigest } from "./digest.ts";

const fail = (what: string, why: string) => new BuncError("image", `${what}: ${why}`);

/** JSON text to a value; `what` names the document in the error. */
export function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw fail(what, `not valid JSON: ${(err as Error).message}`);
  }
}

/** Run a schema; the first issue names the field. */
export function checkShape<S extends v.GenericSchema>(schema: S, value: unknown, what: string): v.InferOutput<S> {
  const r = v.safeParse(schema, value, { abortEarly: true });
  if (r.success) return r.output;
  const issue = r.issues[0];
  const field = (issue.path ?? []).map((p) => String(p.key)).join(".") || "top level";
  const got = issue.input === undefined ? "missing" : `got ${JSON.stringify(issue.input)?.slice(0, 80)}`;
  throw fail(what, `${field}: expected ${issue.expected ?? issue.message}, ${got}`);
}

/** A descriptor whose digest is checked against the grammar. */
export function checkDescriptor(d: Descriptor, what: string): Descriptor {
  checkDigest(d.digest, `${what}: digest`);
  return d;
}

export type DocumentKind = "manifest" | "index";

/** What a descriptor's mediaType says it points at, or undefined for anything else. */
export function kindOfMediaType(mediaType: string): DocumentKind | undefined {
  if (MANIFEST_MEDIA_TYPES.includes(mediaType)) return "manifest";
  if (INDEX_MEDIA_TYPES.includes(mediaType)) return "index";
  return undefined;
}

function checkMediaTypeField(doc: Record<string, unknown>, descriptorType: string, what: string): void {
  const field = doc.mediaType;
  if (field !== undefined && field !== descriptorType) {
    throw fail(what, `mediaType field ${JSON.stringify(field)} contradicts the descriptor's ${JSON.stringify(descriptorType)}`);
  }
}

export function parseManifest(bytes: Uint8Array, descriptorType: string, what: string): ImageManifest {
  const doc = parseJson(bytes, what);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw fail(what, "not a JSON object");
  const rec = doc as Record<string, unknown>;
  if ("manifests" in rec) throw fail(what, `has "manifests" as an index does, but its descriptor says ${descriptorType}`);
  checkMediaTypeField(rec, descriptorType, what);
  const m = checkShape(ImageManifestSchema, doc, what);
  checkDescriptor(m.config, `${what}: config`);
  m.layers.forEach((l, i) => checkDescriptor(l, `${what}: layers[${i}]`));
  return m;
}

export function parseIndex(bytes: Uint8Array, descriptorType: string | undefined, what: string): ImageIndex {
  const doc = parseJson(bytes, what);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw fail(what, "not a JSON object");
  const rec = doc as Record<string, unknown>;
  if ("layers" in rec || "config" in rec) {
    throw fail(what, `has "${"layers" in rec ? "layers" : "config"}" as a manifest does, but ${descriptorType ? `its descriptor says ${descriptorType}` : "it is an index"}`);
  }
  if (descriptorType !== undefined) checkMediaTypeField(rec, descriptorType, what);
  else if (rec.mediaType !== undefined && !INDEX_MEDIA_TYPES.includes(String(rec.mediaType))) {
    throw fail(what, `mediaType field ${JSON.stringify(rec.mediaType)} is not an index media type`);
  }
  const idx = checkShape(ImageIndexSchema, doc, what);
  idx.manifests.forEach((d, i) => checkDescriptor(d, `${what}: manifests[${i}]`));
  return idx;
}

export function parseConfig(bytes: Uint8Array, what: string): ImageConfig {
  return checkShape(ImageConfigSchema, parseJson(bytes, what), what);
}

export const parseDescriptor = (value: unknown, what: string): Descriptor => checkDescriptor(checkShape(DescriptorSchema, value, what), what);
