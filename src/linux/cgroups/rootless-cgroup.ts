// Cgroups for a rootless container. Only cgroup v2 lets a user manage cgroups, and only in
// a subtree delegated to them (systemd's Delegate=yes chowns a unit's cgroup to its user).
// The delegation root is the highest ancestor of the caller's own cgroup that the caller
// owns and may write; the container goes to <delegation root>/bunc/<id> (or its relative
// linux.cgroupsPath, resolved as runc does, if that stays inside the delegation).
// On a hybrid host the cgroup2 mount (e.g. /sys/fs/cgroup/unified) may be delegated the same
// way: the container then has a cgroup there only, with the controllers it offers (hugetlb).
// Without one (cgroup v1, or no delegation) the container has no cgroup: resources are
// skipped with one warning, never a failure; so are resources whose controller the
// delegated subtree does not offer.
import { readTextFile, statPath } from "../../../ffi/files.ts";
import { nodeFs } from "../../node-fs.ts";
import { joinPath as join, normalizePath } from "../posix-path.ts";
import type { LinuxResources } from "../../spec/runtime-config.ts";
import type { CgroupRecord } from "./cgroup.ts";
import { cgroupPath, ownCgroups } from "./cgroups-path.ts";
import type { CgroupHost } from "./detect.ts";
import type { CgroupWrite } from "./writes.ts";

function writableByMe(dir: string, euid: number): boolean {
  try {
    if (statPath(dir).uid !== euid) return false;
    nodeFs().accessSync(join(dir, "cgroup.procs"), nodeFs().constants.W_OK);
    nodeFs().accessSync(join(dir, "cgroup.subtree_control"), nodeFs().constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The highest cgroup (path in the hierarchy) at or above `own` delegated to `euid`. */
export function delegationRoot(mountPoint: string, own: string, euid = process.geteuid!(), writable = writableByMe): string | undefined {
  let found: string | undefined;
  for (let path = normalizePath(own); path !== "/" && path !== "."; path = join(path, "..")) {
    if (writable(join(mountPoint, path), euid)) found = path;
    else if (found) break;
  }
  return found;
}

export function delegatedCgroup(host: CgroupHost, cgroupsPath: string | undefined, id: string, own = ownCgroups().get("")): CgroupRecord | undefined {
  if (host.mode === "v1" || !host.unified || own === undefined) return undefined;
  const root = delegationRoot(host.unified, own);
  if (!root) return undefined;
  const path = cgroupsPath ? cgroupPath(cgroupsPath, id, own) : join(root, "bunc", id);
  if (!path.startsWith(`${root}/`)) return undefined;
  const dir = join(host.unified, path);
  return { version: "v2", path, dirs: { unified: dir }, created: [], shared: cgroupsPath ? [] : [join(dir, "..")], enableFrom: join(host.unified, root) };
}

/** Resources that need a cgroup. Device rules do not count: rootless there are no device nodes to guard. */
export function hasResources(resources: LinuxResources | undefined): boolean {
  if (!resources) return false;
  return Object.entries(resources).some(([key, value]) => key !== "devices" && value !== undefined && value !== null);
}

const DELEGATE_HINT = "run bunc in a systemd unit or scope with Delegate=yes, e.g. systemd-run --user --scope -p Delegate=yes bunc …";

export function rootlessResourcesWarning(host: CgroupHost): string {
  const why =
    host.mode === "v2"
      ? `no part of your cgroup is delegated to you (${DELEGATE_HINT})`
      : host.mode === "hybrid" && host.unified
        ? `this hybrid host's v1 controllers are root's, and no part of your cgroup in its cgroup2 hierarchy (${host.unified}) is delegated to you (${DELEGATE_HINT})`
        : `this host has cgroup ${host.mode}, where only root can make cgroups`;
  return `linux.resources: skipped, rootless: ${why}`;
}

/**
 * The writes a delegated subtree can take: those of controllers its root offers (or of the
 * cgroup core), and the controllers of the others, which are skipped.
 */
export function delegatedWrites(enableFrom: string, writes: CgroupWrite[], readControllers = (dir: string) => readTextFile(`${dir}/cgroup.controllers`)): { kept: CgroupWrite[]; skipped: string[]; offered: string[] } {
  const offered = readControllers(enableFrom).trim().split(/\s+/).filter(Boolean);
  const kept = writes.filter((w) => w.controller === "cgroup" || offered.includes(w.controller));
  const skipped = [...new Set(writes.filter((w) => !kept.includes(w)).map((w) => w.controller))].sort();
  return { kept, skipped, offered };
}

export function undelegatedWarning(skipped: string[], enableFrom: string, offered: string[]): string {
  return `linux.resources: the ${skipped.join(", ")} limits are skipped, rootless: your delegated cgroup ${enableFrom} offers only ${offered.join(" ") || "no controllers"}`;
}
