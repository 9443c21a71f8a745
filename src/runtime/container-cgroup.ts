// The container's cgroup as `create` sets it up and `delete` takes it down: made, limited and
// joined by the init before the init is given its plan, so every process of the container
// is born inside it and the init's own start-up memory stays charged to the caller.
import { addProcess, applyWrites, createCgroup, destroyCgroup, enableControllers, planCgroup, type CgroupRecord } from "../linux/cgroups/cgroup.ts";
import { detectCgroups } from "../linux/cgroups/detect.ts";
import { effectiveDeviceRules } from "../linux/cgroups/device-rules.ts";
import { v1DeviceWrites, v1Writes } from "../linux/cgroups/v1-writes.ts";
import { applyV2Devices } from "../linux/cgroups/v2-devices.ts";
import { v2Writes } from "../linux/cgroups/v2-writes.ts";
import { log } from "../log.ts";
import type { LinuxResources, Spec } from "../spec/runtime-config.ts";

/** Make the container's cgroup directories (nothing in them yet). */
export function makeCgroup(config: Spec, id: string): CgroupRecord {
  const record = planCgroup(detectCgroups(), config.linux?.cgroupsPath, id);
  createCgroup(record);
  return record;
}

/** Set the limits and put `pid` in. On failure the caller kills `pid`, then destroys. */
export function joinCgroup(record: CgroupRecord, config: Spec, pid: number): void {
  applyResources(record, config.linux?.resources ?? {}, config.linux?.devices ?? []);
  addProcess(record, pid);
}

export function applyResources(record: CgroupRecord, resources: LinuxResources, devices: { type: string; major?: number; minor?: number }[]): void {
  const rules = effectiveDeviceRules(resources.devices ?? [], devices);
  const logDebug = (msg: string) => log("debug", msg);
  if (record.version === "v2") {
    const writes = v2Writes(resources, { log: logDebug });
    const dir = record.dirs.unified!;
    const root = dir.slice(0, dir.length - record.path.length);
    enableControllers(root, dir, [...new Set(writes.map((w) => w.controller))]);
    applyWrites(record, writes);
    applyV2Devices(dir, rules);
    return;
  }
  const hugetlbOnV2 = !record.dirs.hugetlb && !!record.dirs.unified;
  const writes = v1Writes(resources, { log: logDebug, hugetlbOnV2 });
  if (hugetlbOnV2 && writes.some((w) => w.controller === "hugetlb")) {
    // Hybrid host: hugetlb lives in the cgroup2 tree, where parents must enable it.
    const dir = record.dirs.unified!;
    enableControllers(dir.slice(0, dir.length - record.path.length), dir, ["hugetlb"]);
  }
  applyWrites(record, [...writes, ...v1DeviceWrites(rules)]);
}

export { destroyCgroup };
