// Schema for the OCI image config (image-spec config.md, application/vnd.oci.image.config.v1+json),
// as far as converting it to a runtime config needs. Loose objects: unknown fields are
// ignored, as the spec requires. Docker writes `null` for empty lists and maps, so every
// optional field also takes null.
import * as v from "valibot";

const Strings = v.array(v.string());
const StringMap = v.record(v.string(), v.string());
// ExposedPorts and Volumes are sets written as maps to empty objects: only the keys matter.
const KeySet = v.record(v.string(), v.unknown());

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

export const ImageConfigSchema = v.looseObject({
  created: v.nullish(v.string()),
  author: v.nullish(v.string()),
  architecture: v.string(),
  os: v.string(),
  "os.version": v.nullish(v.string()),
  "os.features": v.nullish(Strings),
  variant: v.nullish(v.string()),
  config: v.nullish(ImageExecConfigSchema),
  rootfs: v.nullish(
    v.looseObject({
      type: v.string(),
      diff_ids: Strings,
    }),
  ),
});

export type ImageConfig = v.InferOutput<typeof ImageConfigSchema>;
export type ImageExecConfig = v.InferOutput<typeof ImageExecConfigSchema>;
