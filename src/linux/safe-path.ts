// Paths inside a rootfs are never resolved as strings: every lookup is an openat2 relative
// to an fd of the rootfs with RESOLVE_IN_ROOT (symlinks cannot climb out, ".." stops at the
// root) and RESOLVE_NO_MAGICLINKS (no /proc/self/fd escapes). Callers then act on the fd,
// or on /proc/self/fd/N for mount(2). This closes the symlink-on-mount-target family of CVEs.
import { AT, O, RESOLVE } from "../../ffi/constants.ts";
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
export function mkdirAllInRoot(sys: Sys, rootFd: number, path: string, mode = 0o755, hops = 0): number {
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
    if (next === -ENOENT) {
      // The name exists but leads nowhere: a dangling symlink. Make its target, inside the
      // root, and go on from there (as runc does for e.g. a dangling /etc/resolv.conf).
      const rest = followDangling(sys, fd, parts, depth, hops, path);
      sys.close(fd);
      return mkdirAllInRoot(sys, rootFd, rest, mode, hops + 1);
    }
    sys.close(fd);
    if (next < 0) throw new SysError("openat2", -next, path);
    fd = next;
  }
  return fd;
}

const MAX_HOPS = 40; // the kernel's own symlink limit (ELOOP)

/** The in-root path that `parts` means when parts[depth] is a dangling symlink in `parentFd`. */
function followDangling(sys: Sys, parentFd: number, parts: string[], depth: number, hops: number, path: string): string {
  if (hops >= MAX_HOPS) throw new SysError("openat2", 40 /* ELOOP */, path);
  const target = sys.readlinkat(parentFd, parts[depth]!);
  const base = target.startsWith("/") ? [] : parts.slice(0, depth);
  return "/" + [...base, ...components(target), ...parts.slice(depth + 1)].join("/");
}

/**
 * Make sure a regular file exists at `path` in the root (for file bind mounts and masks) and
 * return an O_PATH fd of whatever is there.
 */
export function ensureFileInRoot(sys: Sys, rootFd: number, path: string, hops = 0): number {
  const parts = components(path);
  const name = parts.pop();
  if (name === undefined) return openInRoot(sys, rootFd, "/", O.PATH);
  const existing = sys.tryOpenat2(rootFd, relative(path), O.PATH | O.CLOEXEC, 0, IN_ROOT);
  if (existing >= 0) return existing;
  if (existing !== -ENOENT) throw new SysError("openat2", -existing, path);
  const parent = mkdirAllInRoot(sys, rootFd, parts.join("/"));
  let dangling: string | undefined;
  try {
    // O_EXCL|O_NOFOLLOW: a dangling symlink planted here is not followed out of the root…
    const fd = sys.openat(parent, name, O.CREAT | O.EXCL | O.NOFOLLOW | O.WRONLY | O.CLOEXEC, 0o644);
    sys.close(fd);
  } catch (err) {
    if (errnoOf(err) !== EEXIST) throw err;
    // …but its target is made inside the root.
    const probe = sys.tryOpenat2(rootFd, relative(path), O.PATH | O.CLOEXEC, 0, IN_ROOT);
    if (probe >= 0) sys.close(probe);
    else if (probe === -ENOENT) dangling = followDangling(sys, parent, [...parts, name], parts.length, hops, path);
  } finally {
    sys.close(parent);
  }
  if (dangling !== undefined) return ensureFileInRoot(sys, rootFd, dangling, hops + 1);
  return openInRoot(sys, rootFd, path, O.PATH);
}

/** The path mount(2) and friends accept for an fd: its magic link in procfs. */
export const fdPath = (fd: number) => `/proc/self/fd/${fd}`;


export const EMPTY_PATH = AT.EMPTY_PATH;
