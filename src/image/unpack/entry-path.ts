// What a tar entry's name means inside the rootfs. Names are cleaned lexically, as if the
// entry were joined to "/": a leading "/" and "." parts go, ".." pops a part and stops at
// the root. Symlinks are never resolved here: the kernel does that, inside the root, when
// the parent directory is opened (openat2 RESOLVE_IN_ROOT).

/** PATH_MAX: a longer name cannot be opened anyway, and long names cost memory. */
export const MAX_ENTRY_PATH = 4096;

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";

/** The parts of a cleaned in-root path; [] is the root itself. */
export function cleanParts(name: string): string[] {
  const parts: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts;
}

export type EntryTarget =
  | { kind: "path"; parts: string[] }
  | { kind: "whiteout"; dir: string[]; name: string }
  | { kind: "opaque"; dir: string[] }
  /** An aufs bookkeeping name (`.wh..wh.plnk`, …): not content, skipped. */
  | { kind: "aufs-meta"; dir: string[] }
  | { kind: "invalid"; why: string };

/**
 * Classify an entry name. Whiteout markers are recognised on the name's last part as
 * written in the archive, before cleaning, so that `.wh..` or `.wh...` (which would whiteout
 * "." or "..", i.e. a parent or the root) are refused instead of cleaned into something else.
 */
export function classifyEntry(name: string): EntryTarget {
  if (name.includes("\0")) return { kind: "invalid", why: "name contains a NUL byte" };
  if (Buffer.byteLength(name) > MAX_ENTRY_PATH) return { kind: "invalid", why: `name longer than ${MAX_ENTRY_PATH} bytes` };
  const raw = name.split("/").filter((p) => p !== "");
  const last = raw[raw.length - 1];
  if (last === undefined || !last.startsWith(WHITEOUT)) return { kind: "path", parts: cleanParts(name) };
  const dir = cleanParts(raw.slice(0, -1).join("/"));
  if (last === OPAQUE) return { kind: "opaque", dir };
  if (last.startsWith(WHITEOUT + WHITEOUT)) return { kind: "aufs-meta", dir };
  const hidden = last.slice(WHITEOUT.length);
  if (hidden === "" || hidden === "." || hidden === "..") {
    return { kind: "invalid", why: `whiteout of "${hidden}" would remove a parent directory or the root` };
  }
  return { kind: "whiteout", dir, name: hidden };
}
