// Config.Volumes → mounts (image-spec conversion.md, "Optional Fields"): a fresh tmpfs at
// each volume path, so application data is not written to the container's root filesystem,
// with the options podman gives image volumes (nosuid, nodev). The tmpfs takes the mode and
// owner of the image's own directory there (looked up inside the rootfs), so a volume the
// image prepared for its non-root user stays writable by it; else mode 755, owned by root.
import { fstatSync } from "node:fs";
import { AT_FDCWD, O } from "../../../ffi/constants.ts";
import { linuxSys } from "../../../ffi/sys.ts";
import { tryOpenInRoot } from "../../linux/safe-path.ts";
import type { Mount } from "../../spec/runtime-config.ts";
import { imageError } from "./image-error.ts";

// Kernel interfaces that the default mounts, masked and read-only paths set up: a volume
// over them would undo that, so it is refused.
const RESERVED = ["/proc", "/sys"];

/** Check a Volumes key: absolute, normalized (no "//", ".", "..", trailing "/"), not "/". */
export function checkVolumePath(path: string): void {
  const field = `Config.Volumes[${JSON.stringify(path)}]`;
  if (!path.startsWith("/")) throw imageError(field, "not an absolute path");
  if (path === "/") throw imageError(field, "a volume cannot be the root directory");
  if (path.includes("\0")) throw imageError(field, "contains a NUL byte");
  const parts = path.slice(1).split("/");
  if (parts.some((p) => p === "" || p === "." || p === ".."))
    throw imageError(field, 'not a normalized path (empty, "." or ".." components)');
  for (const r of RESERVED) if (path === r || path.startsWith(`${r}/`)) throw imageError(field, `${r} is reserved for the kernel's own filesystem`);
}

/** tmpfs options copying mode and owner of the directory at `path` in the rootfs, if any. */
export function ownerOptions(rootfsDir: string, path: string): string[] {
  const rootFd = linuxSys.openat(AT_FDCWD, rootfsDir, O.PATH | O.DIRECTORY | O.CLOEXEC);
  try {
    const fd = tryOpenInRoot(linuxSys, rootFd, path, O.PATH);
    if (fd === undefined) return ["mode=755"];
    try {
      const st = fstatSync(fd);
      if (!st.isDirectory()) return ["mode=755"];
      return [`mode=${(st.mode & 0o7777).toString(8)}`, `uid=${st.uid}`, `gid=${st.gid}`];
    } finally {
      linuxSys.close(fd);
    }
  } finally {
    linuxSys.close(rootFd);
  }
}

/** One tmpfs mount per volume, parents before children. */
export function volumeMounts(volumes: Record<string, unknown> | null | undefined, rootfsDir: string): Mount[] {
  const paths = Object.keys(volumes ?? {});
  for (const p of paths) checkVolumePath(p);
  const depth = (p: string) => p.split("/").length;
  paths.sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
  return paths.map((destination) => ({
    destination,
    type: "tmpfs",
    source: "tmpfs",
    options: ["rw", "nosuid", "nodev", ...ownerOptions(rootfsDir, destination)],
  }));
}
