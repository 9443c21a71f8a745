// linux.cgroupsPath → the cgroup (a path relative to each hierarchy's root) of a container.
//   absent    /bunc/<id>
//   absolute  as given, from the hierarchy's root
//   relative  under the caller's own cgroup in that hierarchy, as runc does
import { readTextFile } from "../../../ffi/files.ts";
import { joinPath, normalizePath } from "../posix-path.ts";
import { BuncError } from "../../errors.ts";

/** Lines of /proc/self/cgroup: hierarchy → the caller's cgroup in it ("" key for cgroup2). */
export function ownCgroups(text = readTextFile("/proc/self/cgroup")): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n").filter(Boolean)) {
    const [, controllers, path] = line.split(/:(.*?):/s) as [string, string, string];
    if (controllers === "") out.set("", path);
    else for (const c of controllers.split(",")) out.set(c, path);
  }
  return out;
}

export function cgroupPath(cgroupsPath: string | undefined, id: string, own: string): string {
  if (cgroupsPath === undefined || cgroupsPath === "") return `/bunc/${id}`;
  if (cgroupsPath.includes("\0")) throw new BuncError("config", "linux.cgroupsPath: contains a NUL byte");
  const joined = cgroupsPath.startsWith("/") ? cgroupsPath : joinPath(own, cgroupsPath);
  // normalize() clamps ".." at the root: a path cannot climb out of the hierarchy.
  const clean = normalizePath(joined).replace(/\/+$/, "") || "/";
  if (clean === "/") throw new BuncError("config", "linux.cgroupsPath: the root cgroup cannot be a container's");
  return clean;
}
