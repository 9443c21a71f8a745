import { describe, expect, test } from "bun:test";
import { MEDIA_TYPES, parseRegistryDocument } from "./documents.ts";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (mediaType: string, c = "a") => ({ mediaType, digest: D(c), size: 10 });
const manifest = (extra: Record<string, unknown> = {}) => ({ schemaVersion: 2, config: desc("application/vnd.oci.image.config.v1+json"), layers: [desc("application/vnd.oci.image.layer.v1.tar+gzip", "b")], ...extra });
const index = (extra: Record<string, unknown> = {}) => ({ schemaVersion: 2, manifests: [desc(MEDIA_TYPES.ociManifest)], ...extra });
const bytes = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

describe("parseRegistryDocument", () => {
  test("the media type from the document, the header, the descriptor, or the shape", () => {
    expect(parseRegistryDocument(bytes(manifest({ mediaType: MEDIA_TYPES.dockerManifest })), null, "m").mediaType).toBe(MEDIA_TYPES.dockerManifest);
    expect(parseRegistryDocument(bytes(manifest()), `${MEDIA_TYPES.dockerManifest}; charset=utf-8`, "m").mediaType).toBe(MEDIA_TYPES.dockerManifest);
    expect(parseRegistryDocument(bytes(manifest()), "application/json", "m", MEDIA_TYPES.ociManifest).mediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(parseRegistryDocument(bytes(index()), null, "m")).toMatchObject({ kind: "index", mediaType: MEDIA_TYPES.ociIndex });
    expect(parseRegistryDocument(bytes(manifest()), "application/octet-stream", "m")).toMatchObject({ kind: "manifest", mediaType: MEDIA_TYPES.ociManifest });
  });

  test.each([
    ["both shapes", bytes({ ...index(), ...manifest() }), null, undefined, 'has both "manifests" and "layers"/"config"'],
    ["header against document", bytes(manifest({ mediaType: MEDIA_TYPES.ociManifest })), MEDIA_TYPES.ociIndex, undefined, "contradicts the document's mediaType"],
    ["descriptor against document", bytes(index({ mediaType: MEDIA_TYPES.ociIndex })), null, MEDIA_TYPES.ociManifest, "the descriptor says"],
    ["index type, manifest shape", bytes(manifest()), MEDIA_TYPES.dockerManifestList, undefined, "claims to be an index"],
    ["manifest type, no layers", bytes({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest }), null, undefined, "claims to be a manifest"],
    ["schema 1", bytes({ schemaVersion: 1 }), "application/vnd.docker.distribution.manifest.v1+prettyjws", undefined, "schema 1 manifests"],
    ["unknown mediaType", bytes(manifest({ mediaType: "text/html" })), null, undefined, 'mediaType "text/html" is not an image manifest or index'],
    ["schemaVersion", bytes(manifest({ schemaVersion: 3 })), null, undefined, "m: schemaVersion"],
    ["bad layer digest", bytes(manifest({ layers: [{ mediaType: "x", digest: "sha256:XYZ", size: 1 }] })), null, undefined, "m: layers[0].digest"],
    ["negative size", bytes(manifest({ layers: [{ mediaType: "x", digest: D("c"), size: -1 }] })), null, undefined, "m: layers[0].size"],
    ["bad index entry", bytes(index({ manifests: [{ mediaType: "x", digest: "md5:aa", size: 1 }] })), null, undefined, "m: manifests[0].digest"],
    ["not JSON", new TextEncoder().encode("<html>"), null, undefined, "not a JSON document"],
    ["not UTF-8", new Uint8Array([0x7b, 0xff, 0x7d]), null, undefined, "not a JSON document"],
    ["an array", bytes([]), null, undefined, "not a JSON object"],
  ])("refuses %s", (_name, input, header, expected, why) => {
    expect(() => parseRegistryDocument(input, header, "m", expected)).toThrow(why);
  });
});
