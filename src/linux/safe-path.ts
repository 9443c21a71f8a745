// Paths inside a rootfs are never resolved as strings: every lookup is an openat2 relative
// to an fd of the rootfs with RESOLVE_IN_ROOT (symlinks cannot climb out, ".." stops at the
// root) and RESOLVE_NO_MAGICLINKS (no /proc/self/fd escapes). Callers then act on the fd,
// or on /proc/self/fd/N for mount(2). This closes the symlink-on-mount-target family of CVEs.
import { AT, O, RESOLVE, S_IFREG } from "../../ffi/constants.ts";
import { EEXIST, ENOENT, SysError } from "../../ffi/errors.ts";
import type { Sys } from "../../ffi/sys.ts";

export const IN_ROOT = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;

/** Components of an in-root path, without empty parts or "."; ".." is kept for openat2 to clamp. */
export function components(path: string): string[] {
  return path.split("/").filter((c) => c !== "" && c !== ".");
}

export const relative = (path: string) => components(path).join("/") || ".";

/** Open `path` inside the root `rootFd`. `flags` usually include O_PATH. */
export function openInRoot(sys: Sys, rootFd: number, path: string, flags: number): number {
  return sys.openat2(rootFd, relative(path), flags | O.CLOEXEC, 0, IN_ROOT);
}

/** Like openInRoot, but a missing path gives undefined. */
export function tryOpenInRoot(sys: Sys, rootFd: number, path: string, flags: number): number | undefined {
  const fd = sys.tryOpenat2(rootFd, relative(path), flags | O.CLOEXEC, 0, IN_ROOT);
  if (fd >= 0) return fd;
  if (fd === -ENOENT) return undefined;
  throw new SysError("openat2", -fd, path);
}

const errnoOf = (err: unknown) => (err as { errno?: number }).errno;

/**
 * Make every missing directory of `path` inside the root and return an O_PATH fd of the last.
 * The deepest existing prefix is found first (most targets exist: one lookup); each new
 * directory is made with mkdirat in its parent's fd, which never follows a symlink, and
 * reopened in-root, so a symlink planted in the rootfs resolves inside it.
 */
export function mkdirAllInRoot(sys: Sys, rootFd: number, path: string, mode = 0o755): number {
  const parts = components(path);
  const dirFlags = O.PATH | O.DIRECTORY | O.CLOEXEC;
  let depth = parts.length;
  let fd = -1;
  for (; depth >= 0; depth--) {
    fd = sys.tryOpenat2(rootFd, parts.slice(0, depth).join("/") || ".", dirFlags, 0, IN_ROOT);
    if (fd >= 0) break;
    if (fd !== -ENOENT) throw new SysError("openat2", -fd, path);
  }
  for (; depth < parts.length; depth++) {
    try {
      sys.mkdirat(fd, parts[depth]!, mode);
    } catch (err) {
      if (errnoOf(err) !== EEXIST) {
        sys.close(fd);
        throw err;
      }
    }
    const next = sys.tryOpenat2(rootFd, parts.slice(0, depth + 1).join("/"), dirFlags, 0, IN_ROOT);
    sys.close(fd);
    if (next < 0) throw new SysError("openat2", -next, path);
    fd = next;
  }
  return fd;
}

/**
 * Make sure a regular file exists at `path` in the root (for file bind mounts and masks) and
 * return an O_PATH fd of whatever is there.
 */
export function ensureFileInRoot(sys: Sys, rootFd: number, path: string): number {
  const parts = components(path);
  const name = parts.pop();
  if (name === undefined) return openInRoot(sys, rootFd, "/", O.PATH);
  const existing = sys.tryOpenat2(rootFd, relative(path), O.PATH | O.CLOEXEC, 0, IN_ROOT);
  if (existing >= 0) return existing;
  if (existing !== -ENOENT) throw new SysError("openat2", -existing, path);
  const parent = mkdirAllInRoot(sys, rootFd, parts.join("/"));
  try {
    // O_EXCL|O_NOFOLLOW: a dangling symlink planted here is not followed out of the root.
    const fd = sys.openat(parent, name, O.CREAT | O.EXCL | O.NOFOLLOW | O.WRONLY | O.CLOEXEC, 0o644);
    sys.close(fd);
  } catch (err) {
    if (errnoOf(err) !== EEXIST) throw err;
  } finally {
    sys.close(parent);
  }
  return openInRoot(sys, rootFd, path, O.PATH);
}

/** The path mount(2) and friends accept for an fd: its magic link in procfs. */
export const fdPath = (fd: number) => `/proc/self/fd/${fd}`;

export const isRegular = (mode: number) => (mode & 0o170000) === S_IFREG;

export const EMPTY_PATH = AT.EMPTY_PATH;
