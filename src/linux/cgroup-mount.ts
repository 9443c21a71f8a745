// A `cgroup` mount in the container. On a pure v2 host it is one cgroup2 mount; on a v1 or
// hybrid host it is a tmpfs holding one mount per hierarchy the init belongs to (as in
// /proc/self/cgroup), plus the symlinks for co-mounted controllers (cpu → cpu,cpuacct).
// With a cgroup namespace each shows the container's own cgroup as its root. Without one, a
// fresh mount would show the host's whole tree: the container's own cgroup directories
// (`own`: hierarchy → host dir) are bind-mounted in their place, as runc does.
import { readTextFile } from "../../ffi/files.ts";
import { AT_FDCWD, MOUNT_ATTR, MS, OPEN_TREE } from "../../ffi/constants.ts";
import type { Sys } from "../../ffi/sys.ts";
import { EMPTY_PATH, fdPath, mkdirAllInRoot } from "./safe-path.ts";

export interface Hierarchy {
  /** Directory name under the mount: the controllers ("cpu,cpuacct"), a name, or "unified". */
  dir: string;
  /** fstype and data for mount(2). */
  fstype: "cgroup" | "cgroup2";
  data: string | null;
  /** Controllers of a co-mounted hierarchy, each to get a symlink to `dir`. */
  aliases: string[];
}

export function hierarchies(procSelfCgroup: string): Hierarchy[] {
  const lines = procSelfCgroup.split("\n").filter(Boolean);
  const v1 = lines.filter((l) => !l.startsWith("0::"));
  if (v1.length === 0) return [{ dir: "", fstype: "cgroup2", data: null, aliases: [] }];
  const out: Hierarchy[] = [];
  for (const line of v1) {
    const controllers = line.split(":")[1] ?? "";
    if (!controllers) continue;
    if (controllers.startsWith("name=")) {
      out.push({ dir: controllers.slice(5), fstype: "cgroup", data: `none,${controllers}`, aliases: [] });
      continue;
    }
    const list = controllers.split(",");
    out.push({ dir: controllers, fstype: "cgroup", data: controllers, aliases: list.length > 1 ? list : [] });
  }
  if (lines.some((l) => l.startsWith("0::"))) out.push({ dir: "unified", fstype: "cgroup2", data: null, aliases: [] });
  return out;
}

export function mountCgroups(sys: Sys, rootFd: number, destination: string, destFd: number, flags: number, own?: Record<string, string>): void {
  const list = hierarchies(readTextFile("/proc/self/cgroup"));
  const mountFlags = flags | MS.NOSUID | MS.NODEV | MS.NOEXEC;
  const hostDirOf = (h: Hierarchy) => own?.[h.fstype === "cgroup2" ? "unified" : (h.data ?? "").replace(/^none,/, "").split(",")[0]!];
  const mountOne = (h: Hierarchy, targetFd: number) => {
    const hostDir = hostDirOf(h);
    if (own && hostDir) {
      const tree = sys.openTree(AT_FDCWD, hostDir, OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC);
      try {
        sys.mountSetattr(tree, "", EMPTY_PATH, BigInt(MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC | (flags & MS.RDONLY ? MOUNT_ATTR.RDONLY : 0)), 0n);
        sys.moveMount(tree, targetFd, `${destination}/${h.dir}`);
      } finally {
        sys.close(tree);
      }
    } else sys.mount(h.fstype, fdPath(targetFd), h.fstype, mountFlags, h.data);
  };
  if (list.length === 1 && list[0]!.dir === "") {
    mountOne(list[0]!, destFd);
    return;
  }
  sys.mount("tmpfs", fdPath(destFd), "tmpfs", (flags & ~MS.RDONLY) | MS.NOSUID | MS.NODEV | MS.NOEXEC, "mode=755");
  for (const h of list) {
    const dirFd = mkdirAllInRoot(sys, rootFd, `${destination}/${h.dir}`);
    try {
      mountOne(h, dirFd);
    } finally {
      sys.close(dirFd);
    }
    for (const alias of h.aliases) {
      const parent = mkdirAllInRoot(sys, rootFd, destination);
      try {
        sys.symlinkat(h.dir, parent, alias);
      } finally {
        sys.close(parent);
      }
    }
  }
  if (flags & MS.RDONLY) {
    const top = mkdirAllInRoot(sys, rootFd, destination);
    try {
      sys.mountSetattr(top, "", EMPTY_PATH, BigInt(MOUNT_ATTR.RDONLY), 0n);
    } finally {
      sys.close(top);
    }
  }
}
