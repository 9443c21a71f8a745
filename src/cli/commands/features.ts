import { commit, version } from "../../build-info.ts";
import { CAPABILITIES } from "../../linux/capabilities.ts";
import { KNOWN_MOUNT_OPTIONS } from "../../linux/mount-options.ts";
import { SECCOMP_ACTIONS, SECCOMP_FLAGS, SECCOMP_OPERATORS } from "../../linux/seccomp/compile.ts";
import { SECCOMP_ARCHES } from "../../linux/seccomp/tables/index.ts";
import { HOOK_NAMES, NAMESPACE_TYPES } from "../../spec/runtime-config.ts";
import { print, type CommandContext } from "./context.ts";

/** What this bunc applies (runtime-spec features.md): only what it really does. */
export function featuresDocument() {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: "1.3.0",
    hooks: [...HOOK_NAMES],
    mountOptions: KNOWN_MOUNT_OPTIONS,
    linux: {
      namespaces: [...NAMESPACE_TYPES],
      capabilities: Object.keys(CAPABILITIES),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        actions: [...SECCOMP_ACTIONS],
        operators: [...SECCOMP_OPERATORS],
        archs: [...SECCOMP_ARCHES],
        knownFlags: Object.keys(SECCOMP_FLAGS),
        supportedFlags: Object.keys(SECCOMP_FLAGS),
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { "io.github.bunc.version": version, "io.github.bunc.commit": commit },
    potentiallyUnsafeConfigAnnotations: [],
  };
}

export function features(_ctx: CommandContext): number {
  print(JSON.stringify(featuresDocument(), null, 2));
  return 0;
}
