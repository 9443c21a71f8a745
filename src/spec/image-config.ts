// The image configuration (image-spec config.md). Only the shape bunc relies on is checked
// here: the platform fields and rootfs.diff_ids; the run-time fields (config.User, Env,
// Entrypoint…) stay loose for the conversion to a runtime config to read.
import * as v from "valibot";

export const ImageConfigSchema = v.looseObject({
  created: v.optional(v.string()),
  author: v.optional(v.string()),
  architecture: v.string(),
  os: v.string(),
  "os.version": v.optional(v.string()),
  "os.features": v.optional(v.array(v.string())),
  variant: v.optional(v.string()),
  config: v.optional(v.looseObject({})),
  rootfs: v.looseObject({
    type: v.literal("layers"),
    diff_ids: v.array(v.string()),
  }),
  history: v.optional(v.array(v.looseObject({}))),
});

export type ImageConfig = v.InferOutput<typeof ImageConfigSchema>;
