// Schemas for the image-spec documents bunc reads and writes: descriptor (descriptor.md),
// image manifest (manifest.md), image index (image-index.md), the layout's oci-layout and
// index.json (image-layout.md), and docker's `docker save` manifest.json. Objects are loose:
// the spec says unknown properties MUST be ignored. The digest grammar is checked apart,
// in src/image/digest.ts, before any digest is used as a path.
import * as v from "valibot";

export const MEDIA_TYPE = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
} as const;

export const MANIFEST_MEDIA_TYPES: readonly string[] = [MEDIA_TYPE.ociManifest, MEDIA_TYPE.dockerManifest];
export const INDEX_MEDIA_TYPES: readonly string[] = [MEDIA_TYPE.ociIndex, MEDIA_TYPE.dockerManifestList];

/** The annotation that carries a tag in a layout's index.json (image-layout.md). */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";

const Annotations = v.record(v.string(), v.string());
const Size = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));

export const PlatformSchema = v.looseObject({
  architecture: v.string(),
  os: v.string(),
  "os.version": v.optional(v.string()),
  "os.features": v.optional(v.array(v.string())),
  variant: v.optional(v.string()),
});

export const DescriptorSchema = v.looseObject({
  mediaType: v.string(),
  digest: v.string(),
  size: Size,
  urls: v.optional(v.array(v.string())),
  annotations: v.optional(Annotations),
  data: v.optional(v.string()),
  platform: v.optional(PlatformSchema),
  artifactType: v.optional(v.string()),
});

export const ImageManifestSchema = v.looseObject({
  schemaVersion: v.literal(2),
  mediaType: v.optional(v.string()),
  artifactType: v.optional(v.string()),
  config: DescriptorSchema,
  layers: v.array(DescriptorSchema),
  subject: v.optional(DescriptorSchema),
  annotations: v.optional(Annotations),
});

export const ImageIndexSchema = v.looseObject({
  schemaVersion: v.literal(2),
  mediaType: v.optional(v.string()),
  artifactType: v.optional(v.string()),
  manifests: v.array(DescriptorSchema),
  subject: v.optional(DescriptorSchema),
  annotations: v.optional(Annotations),
});

export const OciLayoutSchema = v.looseObject({ imageLayoutVersion: v.string() });

/** One image in a `docker save` archive's manifest.json. */
export const DockerArchiveEntrySchema = v.looseObject({
  Config: v.string(),
  RepoTags: v.nullish(v.array(v.string())),
  Layers: v.array(v.string()),
});
export const DockerArchiveManifestSchema = v.array(DockerArchiveEntrySchema);

export type Descriptor = v.InferOutput<typeof DescriptorSchema>;
export type Platform = v.InferOutput<typeof PlatformSchema>;
export type ImageManifest = v.InferOutput<typeof ImageManifestSchema>;
export type ImageIndex = v.InferOutput<typeof ImageIndexSchema>;
export type DockerArchiveEntry = v.InferOutput<typeof DockerArchiveEntrySchema>;
