// Cgroups for a rootless container. Only cgroup v2 lets a user manage cgroups, and only in
// a subtree delegated to them (systemd's Delegate=yes chowns a unit's cgroup to its user).
// The delegation root is the highest ancestor of the caller's own cgroup that the caller
// owns and may write; the container goes to <delegation root>/bunc/<id> (or its relative
// linux.cgroupsPath, resolved as runc does, if that stays inside the delegation).
// Without one (cgroup v1 or hybrid hosts, or no delegation) the container has no cgroup:
// resources are skipped with one warning, never a failure.
import { accessSync, constants, statSync } from "node:fs";
import { join, posix } from "node:path";
import type { LinuxResources } from "../../spec/runtime-config.ts";
import type { CgroupRecord } from "./cgroup.ts";
import { cgroupPath, ownCgroups } from "./cgroups-path.ts";
import type { CgroupHost } from "./detect.ts";

function writableByMe(dir: string, euid: number): boolean {
  try {
    if (statSync(dir).uid !== euid) return false;
    accessSync(join(dir, "cgroup.procs"), constants.W_OK);
    accessSync(join(dir, "cgroup.subtree_control"), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The highest cgroup (path in the hierarchy) at or above `own` delegated to `euid`. */
export function delegationRoot(mountPoint: string, own: string, euid = process.geteuid!(), writable = writableByMe): string | undefined {
  let found: string | undefined;
  for (let path = posix.normalize(own); path !== "/"; path = posix.dirname(path)) {
    if (writable(join(mountPoint, path), euid)) found = path;
    else if (found) break;
  }
  return found;
}

export function delegatedCgroup(host: CgroupHost, cgroupsPath: string | undefined, id: string, own = ownCgroups().get("")): CgroupRecord | undefined {
  if (host.mode !== "v2" || !host.unified || own === undefined) return undefined;
  const root = delegationRoot(host.unified, own);
  if (!root) return undefined;
  const path = cgroupsPath ? cgroupPath(cgroupsPath, id, own) : posix.join(root, "bunc", id);
  if (!path.startsWith(`${root}/`)) return undefined;
  const dir = join(host.unified, path);
  return { version: "v2", path, dirs: { unified: dir }, created: [], shared: cgroupsPath ? [] : [join(dir, "..")], enableFrom: join(host.unified, root) };
}

/** Resources that need a cgroup. Device rules do not count: rootless there are no device nodes to guard. */
export function hasResources(resources: LinuxResources | undefined): boolean {
  if (!resources) return false;
  return Object.entries(resources).some(([key, value]) => key !== "devices" && value !== undefined && value !== null);
}

export function rootlessResourcesWarning(host: CgroupHost): string {
  const why =
    host.mode === "v2"
      ? "no part of your cgroup is delegated to you (run bunc in a systemd unit or scope with Delegate=yes, e.g. systemd-run --user --scope -p Delegate=yes bunc …)"
      : `this host has cgroup ${host.mode}, where only root can make cgroups`;
  return `linux.resources: skipped, rootless: ${why}`;
}
