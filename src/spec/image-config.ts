// The image configuration (image-spec config.md, application/vnd.oci.image.config.v1+json).
// Loose objects: unknown fields are ignored, as the spec requires. Docker writes `null` for
// empty lists and maps, so every optional field also takes null.
import * as v from "valibot";

const Strings = v.array(v.string());
const StringMap = v.record(v.string(), v.string());
// ExposedPorts and Volumes are sets written as maps to empty objects: only the keys matter.
const KeySet = v.record(v.string(), v.unknown());

/** The run-time fields, `config` in the image config: what the conversion to a runtime config reads. */
export const ImageExecConfigSchema = v.looseObject({
  User: v.nullish(v.string()),
  ExposedPorts: v.nullish(KeySet),
  Env: v.nullish(Strings),
  Entrypoint: v.nullish(Strings),
  Cmd: v.nullish(Strings),
  Volumes: v.nullish(KeySet),
  WorkingDir: v.nullish(v.string()),
  Labels: v.nullish(StringMap),
  StopSignal: v.nullish(v.string()),
});

const common = {
  created: v.nullish(v.string()),
  author: v.nullish(v.string()),
  architecture: v.string(),
  os: v.string(),
  "os.version": v.nullish(v.string()),
  "os.features": v.nullish(Strings),
  variant: v.nullish(v.string()),
  config: v.nullish(ImageExecConfigSchema),
  history: v.nullish(v.array(v.looseObject({}))),
};

/** An image config as a store reads it: the layers' diff_ids are required. */
export const ImageConfigSchema = v.looseObject({
  ...common,
  rootfs: v.looseObject({
    type: v.literal("layers"),
    diff_ids: Strings,
  }),
});

/** What the conversion needs: rootfs may be absent (it is the store's concern). */
export const RunnableImageConfigSchema = v.looseObject({
  ...common,
  rootfs: v.nullish(v.looseObject({ type: v.string(), diff_ids: Strings })),
});

export type ImageConfig = v.InferOutput<typeof ImageConfigSchema>;
export type RunnableImageConfig = v.InferOutput<typeof RunnableImageConfigSchema>;
export type ImageExecConfig = v.InferOutput<typeof ImageExecConfigSchema>;
