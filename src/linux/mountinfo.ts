// /proc/<pid>/mountinfo, as much of it as bunc needs: mount points and their propagation.
import { readTextFile } from "../../ffi/files.ts";

export interface MountInfo {
  mountPoint: string;
  /** Optional fields such as "shared:1" or "master:2". */
  optional: string[];
}

// Paths in mountinfo escape space, tab, newline and backslash as \ooo.
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));

export function parseMountinfo(text: string): MountInfo[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(" ");
      const dash = fields.indexOf("-");
      return { mountPoint: unescape(fields[4]!), optional: fields.slice(6, dash) };
    });
}

export const readMountinfo = (pid: number | "self" = "self") => parseMountinfo(readTextFile(`/proc/${pid}/mountinfo`));

/** The mount that `path` (absolute, resolved) lives on: the longest mount point above it. */
export function mountOf(path: string, mounts: MountInfo[]): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of mounts) {
    const prefix = m.mountPoint === "/" ? "/" : `${m.mountPoint}/`;
    if (path === m.mountPoint || path.startsWith(prefix)) {
      if (!best || m.mountPoint.length >= best.mountPoint.length) best = m;
    }
  }
  return best;
}

/** Mount points at or below `dir`, deepest last in mount order (unmount them in reverse). */
export function mountsUnder(dir: string, mounts: MountInfo[]): string[] {
  return mounts.map((m) => m.mountPoint).filter((p) => p === dir || p.startsWith(`${dir}/`));
}
