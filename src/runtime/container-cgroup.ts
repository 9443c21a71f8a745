// The container's cgroup as `create` sets it up and `delete` takes it down: made, limited and
// joined while the init sets up the container; the init waits for it before anything the
// cgroup governs, so every process of the container is born inside it, and the init's own
// start-up memory stays charged to the caller.
import { applyWrites, createCgroup, destroyCgroup, enableControllers, planCgroup, type CgroupRecord } from "../linux/cgroups/cgroup.ts";
import { detectCgroups } from "../linux/cgroups/detect.ts";
import { effectiveDeviceRules } from "../linux/cgroups/device-rules.ts";
import { v1DeviceWrites, v1Writes } from "../linux/cgroups/v1-writes.ts";
import { applyV2Devices } from "../linux/cgroups/v2-devices.ts";
import { v2Writes } from "../linux/cgroups/v2-writes.ts";
import { log } from "../log.ts";
import { delegatedCgroup, delegatedWrites, hasResources, rootlessResourcesWarning, undelegatedWarning } from "../linux/cgroups/rootless-cgroup.ts";
import type { LinuxResources, Spec } from "../spec/runtime-config.ts";

/**
 * Where the container's cgroup will be (nothing is made yet). Rootless, only a cgroup v2
 * subtree delegated to the caller can be used (see rootless-cgroup.ts); without one the
 * container gets no cgroup, and its resources are skipped with one warning.
 */
export function planContainerCgroup(config: Spec, id: string, rootless = false): CgroupRecord | undefined {
  const host = detectCgroups();
  if (!rootless) return planCgroup(host, config.linux?.cgroupsPath, id);
  const delegated = delegatedCgroup(host, config.linux?.cgroupsPath, id);
  if (delegated) return delegated;
  if (hasResources(config.linux?.resources)) log("warning", rootlessResourcesWarning(host));
  return undefined;
}

export { createCgroup };


export interface ApplyOptions {
  /** Current contents of a cgroup file, for ordering dependent writes of an update. */
  current?: (file: string) => string | undefined;
  /** Leave the device rules alone (an update that names none). */
  skipDevices?: boolean;
}

export function applyResources(
  record: CgroupRecord,
  resources: LinuxResources,
  options: ApplyOptions = {},
): void {
  // A delegated (rootless) cgroup guards no devices: the container has none of its own, only
  // the host's bound in, and a user cannot attach a device program anyway.
  const delegated = record.enableFrom !== undefined;
  const rules = options.skipDevices || delegated ? undefined : effectiveDeviceRules(resources.devices ?? []);
  const opts = { log: (msg: string) => log("debug", msg), current: options.current };
  if (record.version === "v2") {
    let writes = v2Writes(resources, opts);
    if (delegated) {
      const { kept, skipped, offered } = delegatedWrites(record.enableFrom!, writes);
      if (skipped.length) log("warning", undelegatedWarning(skipped, record.enableFrom!, offered));
      writes = kept;
    }
    const dir = record.dirs.unified!;
    enableControllers(record.enableFrom ?? dir.slice(0, dir.length - record.path.length), dir, [...new Set(writes.map((w) => w.controller))]);
    applyWrites(record, writes);
    if (rules) applyV2Devices(dir, rules);
    return;
  }
  const hugetlbOnV2 = !record.dirs.hugetlb && !!record.dirs.unified;
  const writes = v1Writes(resources, { ...opts, hugetlbOnV2 });
  if (hugetlbOnV2 && writes.some((w) => w.controller === "hugetlb")) {
    // Hybrid host: hugetlb lives in the cgroup2 tree, where parents must enable it.
    const dir = record.dirs.unified!;
    enableControllers(record.enableFrom ?? dir.slice(0, dir.length - record.path.length), dir, ["hugetlb"]);
  }
  applyWrites(record, [...writes, ...(rules ? v1DeviceWrites(rules) : [])]);
}

export { destroyCgroup };
