// Config.Volumes → mounts (image-spec conversion.md, "Optional Fields"): a fresh tmpfs at
// each volume path, so application data is not written to the container's root filesystem,
// with the options podman gives image volumes (nosuid, nodev, mode 755).
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

/** One tmpfs mount per volume, parents before children. */
export function volumeMounts(volumes: Record<string, unknown> | null | undefined): Mount[] {
  const paths = Object.keys(volumes ?? {});
  for (const p of paths) checkVolumePath(p);
  const depth = (p: string) => p.split("/").length;
  paths.sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
  return paths.map((destination) => ({
    destination,
    type: "tmpfs",
    source: "tmpfs",
    options: ["rw", "nosuid", "nodev", "mode=755"],
  }));
}
