// Paths inside a rootfs are never resolved as strings: every lookup is an openat2 relative
// to an fd of the rootfs with RESOLVE_IN_ROOT (symlinks cannot climb out, ".." stops at the
// root) and RESOLVE_NO_MAGICLINKS (no /proc/self/fd escapes). Callers then act on the fd,
// or on /proc/self/fd/N for mount(2). This closes the symlink-on-mount-target family of CVEs.
import { AT, O, RESOLVE, S_IFREG } from "../../ffi/constants.ts";
import { EEXIST, ENOENT } from "../../ffi/errors.ts";
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

const errnoOf = (err: unknown) => (err as { errno?: number }).errno;

/**
 * Make every missing directory of `path` inside the root and return an O_PATH fd of the last.
 * Each new directory is made with mkdirat in its parent's fd, which never follows a symlink;
 * each step is reopened in-root, so a symlink planted in the rootfs resolves inside it.
 */
export function mkdirAllInRoot(sys: Sys, rootFd: number, path: string, mode = 0o755): number {
  const parts = components(path);
  let fd = sys.openat2(rootFd, ".", O.PATH | O.DIRECTORY | O.CLOEXEC, 0, IN_ROOT);
  for (let i = 0; i < parts.length; i++) {
    const prefix = parts.slice(0, i + 1).join("/");
    let next: number;
    try {
      next = sys.openat2(rootFd, prefix, O.PATH | O.DIRECTORY | O.CLOEXEC, 0, IN_ROOT);
    } catch (err) {
      if (errnoOf(err) !== ENOENT) {
        sys.close(fd);
        throw err;
      }
      try {
        sys.mkdirat(fd, parts[i]!, mode);
      } catch (mkErr) {
        if (errnoOf(mkErr) !== EEXIST) {
          sys.close(fd);
          throw mkErr;
        }
      }
      next = sys.openat2(rootFd, prefix, O.PATH | O.DIRECTORY | O.CLOEXEC, 0, IN_ROOT);
    }
    sys.close(fd);
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
  try {
    return openInRoot(sys, rootFd, path, O.PATH);
  } catch (err) {
    if (errnoOf(err) !== ENOENT) throw err;
  }
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
