// `bunc spec --rootless`, and `bunc bundle` run by a user: a config a user without root can
// run. As runc's conversion: a user namespace mapping the caller to root (wider maps are the
// user's to add, from their /etc/subuid range), no network namespace (a user cannot set one
// up, and sysfs cannot be mounted in one it does not own: /sys is bound from the host
// instead), no cgroup mount and no resources (cgroups are the host's unless delegated), no
// uid=/gid= mount options naming ids the namespace does not map.
import { ownIdMaps, type IdMaps } from "../linux/subids.ts";
import type { Spec } from "../spec/runtime-config.ts";

/**
 * runc's rootless conversion: a user namespace mapping the caller to root (or `maps`, as
 * `run --image` gives a tree unpacked with the caller's sub-ids), no network namespace.
 */
export function toRootless(spec: Spec, uid: number, gid: number, maps: IdMaps = ownIdMaps(uid, gid)): Spec {
  const linux = spec.linux!;
  linux.namespaces = [...(linux.namespaces ?? []).filter((n) => n.type !== "network" && n.type !== "user"), { type: "user" }];
  linux.uidMappings = maps.uidMappings.map((m) => ({ ...m }));
  linux.gidMappings = maps.gidMappings.map((m) => ({ ...m }));
  delete linux.resources;
  spec.mounts = (spec.mounts ?? [])
    .filter((m) => m.destination !== "/sys/fs/cgroup")
    .map((m) => {
      if (m.type === "sysfs") return { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] };
      return { ...m, options: m.options?.filter((o) => !o.startsWith("gid=") && !o.startsWith("uid=")) };
    });
  return spec;
}
