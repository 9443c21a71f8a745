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

/** A cleaned in-root path: its key ("" for the root), its parent's key and its last name. */
export interface InRootPath {
  key: string;
  parent: string;
  name: string;
}

export function inRootPath(key: string): InRootPath {
  const slash = key.lastIndexOf("/");
  return { key, parent: slash < 0 ? "" : key.slice(0, slash), name: key.slice(slash + 1) };
}

// Names that need cleaning: a leading "/", "//", or a "." or ".." part. Most do not.
const NEEDS_CLEANING = /^\/|\/\/|(^|\/)\.\.?(\/|$)/;

/** The cleaned key of an entry name, without building the parts for the common case. */
export function cleanKey(name: string): string {
  if (!NEEDS_CLEANING.test(name)) return name.endsWith("/") ? name.slice(0, -1) : name;
  return cleanParts(name).join("/");
}

export type EntryTarget =
  | { kind: "path"; path: InRootPath }
  | { kind: "whiteout"; dir: string; name: string }
  | { kind: "opaque"; dir: string }
  /** An aufs bookkeeping name (`.wh..wh.plnk`, …): not content, skipped. */
  | { kind: "aufs-meta"; dir: string }
  | { kind: "invalid"; why: string };

/**
 * Classify an entry name. Whiteout markers are recognised on the name's last part as
 * written in the archive, before cleaning, so that `.wh..` or `.wh...` (which would whiteout
 * "." or "..", i.e. a parent or the root) are refused instead of cleaned into something else.
 */
export function classifyEntry(name: string): EntryTarget {
  if (name.includes("\0")) return { kind: "invalid", why: "name contains a NUL byte" };
  if (name.length > MAX_ENTRY_PATH / 3 && Buffer.byteLength(name) > MAX_ENTRY_PATH) return { kind: "invalid", why: `name longer than ${MAX_ENTRY_PATH} bytes` };
  let end = name.length;
  while (end > 0 && name.charCodeAt(end - 1) === 0x2f) end--;
  const lastStart = name.lastIndexOf("/", end - 1) + 1;
  if (!name.startsWith(WHITEOUT, lastStart)) return { kind: "path", path: inRootPath(cleanKey(name)) };
  const last = name.slice(lastStart, end);
  const dir = cleanKey(name.slice(0, lastStart));
  if (last === OPAQUE) return { kind: "opaque", dir };
  if (last.startsWith(WHITEOUT + WHITEOUT)) return { kind: "aufs-meta", dir };
  const hidden = last.slice(WHITEOUT.length);
  if (hidden === "" || hidden === "." || hidden === "..") {
    return { kind: "invalid", why: `whiteout of "${hidden}" would remove a parent directory or the root` };
  }
  return { kind: "whiteout", dir, name: hidden };
}
