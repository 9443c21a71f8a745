// Which cgroup layout this host has, read from the mount table at run time:
//   v2      /sys/fs/cgroup is cgroup2 (modern hosts);
//   v1      controllers each mounted as cgroup (v1) hierarchies;
//   hybrid  v1 controllers, plus a cgroup2 mount (usually /sys/fs/cgroup/unified) that may
//           hold controllers no v1 hierarchy has (here: hugetlb).
import { readTextFile } from "../../../ffi/files.ts";

export interface CgroupHost {
  mode: "v1" | "v2" | "hybrid";
  /** v1 controller (or "name=systemd") → its mount point. Co-mounted ones share one. */
  v1: Map<string, string>;
  /** The cgroup2 mount point, if any. */
  unified?: string;
  /** Controllers the cgroup2 root offers (cgroup.controllers). */
  unifiedControllers: string[];
}

export function parseCgroupMounts(mountinfo: string): { v1: Map<string, string>; unified?: string } {
  const v1 = new Map<string, string>();
  let unified: string | undefined;
  for (const line of mountinfo.split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (dash < 0) continue;
    const fstype = fields[dash + 1];
    const mountPoint = fields[4]!.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    if (fstype === "cgroup2") unified ??= mountPoint;
    else if (fstype === "cgroup") {
      for (const option of (fields[dash + 3] ?? "").split(",")) {
        if (option === "rw" || option === "ro" || option.startsWith("release_agent") || option === "clone_children") continue;
        if (!v1.has(option)) v1.set(option, mountPoint);
      }
    }
  }
  return { v1, unified };
}

let cached: CgroupHost | undefined;

export function detectCgroups(): CgroupHost {
  if (cached) return cached;
  const { v1, unified } = parseCgroupMounts(readTextFile("/proc/self/mountinfo"));
  let unifiedControllers: string[] = [];
  if (unified) {
    try {
      unifiedControllers = readTextFile(`${unified}/cgroup.controllers`).trim().split(/\s+/).filter(Boolean);
    } catch {}
  }
  const controllers = [...v1.keys()].filter((k) => !k.startsWith("name="));
  const mode = controllers.length === 0 ? "v2" : unified ? "hybrid" : "v1";
  cached = { mode, v1, unified, unifiedControllers };
  return cached;
}
