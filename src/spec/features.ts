// The features document of features.md: what `bunc features` prints so that higher-level
// engines can tell which parts of the runtime spec this runtime implements.
import * as v from "valibot";

const Strings = v.array(v.string());
const Enabled = v.looseObject({ enabled: v.optional(v.boolean()) });

// Lists stay plain strings: a newer runtime may name values this version does not know,
// and the document only reports them.
export const LinuxFeaturesSchema = v.looseObject({
  namespaces: v.optional(Strings),
  capabilities: v.optional(Strings),
  cgroup: v.optional(
    v.looseObject({
      v1: v.optional(v.boolean()),
      v2: v.optional(v.boolean()),
      systemd: v.optional(v.boolean()),
      systemdUser: v.optional(v.boolean()),
      rdma: v.optional(v.boolean()),
    }),
  ),
  seccomp: v.optional(
    v.looseObject({
      enabled: v.optional(v.boolean()),
      actions: v.optional(Strings),
      operators: v.optional(Strings),
      archs: v.optional(Strings),
      knownFlags: v.optional(Strings),
      supportedFlags: v.optional(Strings),
    }),
  ),
  apparmor: v.optional(Enabled),
  selinux: v.optional(Enabled),
  intelRdt: v.optional(Enabled),
  mountExtensions: v.optional(v.looseObject({ idmap: v.optional(Enabled) })),
  netDevices: v.optional(Enabled),
});

export const FeaturesSchema = v.looseObject({
  ociVersionMin: v.string(),
  ociVersionMax: v.string(),
  hooks: v.optional(Strings),
  mountOptions: v.optional(Strings),
  linux: v.optional(LinuxFeaturesSchema),
  annotations: v.optional(v.record(v.string(), v.string())),
  potentiallyUnsafeConfigAnnotations: v.optional(Strings),
});

export type Features = v.InferOutput<typeof FeaturesSchema>;
export type LinuxFeatures = v.InferOutput<typeof LinuxFeaturesSchema>;
