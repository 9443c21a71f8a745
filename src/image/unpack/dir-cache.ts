// Open directories of a rootfs by their cleaned in-root path, so that applying 50k entries
// costs one openat2 per directory, not one per entry. Every lookup is an openat2 relative
// to the root fd with RESOLVE_IN_ROOT: a symlink planted by an earlier entry or layer
// resolves inside the root, whatever it points at. A path reached through a symlink is
// marked, and every such entry is dropped when anything is removed or replaced, since the
// symlink's target may be what changed.
import { O, RESOLVE } from "../../../ffi/constants.ts";
import { closeFd } from "../../../ffi/fs-at.ts";
import { linuxSys } from "../../../ffi/sys.ts";
import { IN_ROOT, mkdirAllInRoot } from "../../linux/safe-path.ts";

const ENOENT = 2;
const ENOTDIR = 20;
const ELOOP = 40;
const LOOKUP = O.PATH | O.DIRECTORY | O.CLOEXEC;

interface CachedDir {
  fd: number;
  viaSymlink: boolean;
}

export class DirCache {
  private readonly dirs = new Map<string, CachedDir>();
  // The directory looked up last: entries come grouped by directory, so most lookups are
  // for it again and need not reorder the LRU map. Cleared whenever an entry leaves the map.
  private lastKey: string | undefined;
  private lastFd = -1;

  constructor(
    readonly rootFd: number,
    private readonly capacity = 256,
  ) {}

  /**
   * The fd of directory `key` ("" is the root). Missing directories are made (0755, as tar
   * does) when `create`; otherwise a missing one or a non-directory in the way gives
   * undefined. Other failures are returned as a negative errno.
   */
  open(key: string, create: boolean): number | undefined {
    if (key === "") return this.rootFd;
    if (key === this.lastKey) return this.lastFd;
    const hit = this.dirs.get(key);
    if (hit) {
      this.dirs.delete(key); // most recently used goes last
      this.dirs.set(key, hit);
      this.lastKey = key;
      this.lastFd = hit.fd;
      return hit.fd;
    }
    let viaSymlink = false;
    let fd = linuxSys.tryOpenat2(this.rootFd, key, LOOKUP, 0, IN_ROOT | RESOLVE.NO_SYMLINKS);
    if (fd === -ELOOP) {
      viaSymlink = true;
      fd = linuxSys.tryOpenat2(this.rootFd, key, LOOKUP, 0, IN_ROOT);
    }
    if (fd === -ENOENT && create) {
      fd = mkdirAllInRoot(linuxSys, this.rootFd, key, 0o755);
      viaSymlink = true; // a dangling symlink on the way may have been followed
    }
    if (fd === -ENOENT || (fd === -ENOTDIR && !create)) return undefined;
    if (fd < 0) return fd;
    this.remember(key, fd, viaSymlink);
    return fd;
  }

  /** Keep an fd the caller just opened for directory `key`; the cache owns it from now on. */
  remember(key: string, fd: number, viaSymlink: boolean): void {
    this.lastKey = undefined;
    const old = this.dirs.get(key);
    if (old) {
      this.dirs.delete(key);
      if (old.fd !== fd) closeFd(old.fd);
    }
    if (this.dirs.size >= this.capacity) {
      const [oldestKey, oldest] = this.dirs.entries().next().value as [string, CachedDir];
      this.dirs.delete(oldestKey);
      closeFd(oldest.fd);
    }
    this.dirs.set(key, { fd, viaSymlink });
  }

  isViaSymlink(key: string): boolean {
    return key !== "" && (this.dirs.get(key)?.viaSymlink ?? true);
  }

  /**
   * `key` was removed or replaced: forget it, everything below it, and every symlinked path.
   * Its parent stays open: the caller is acting in it.
   */
  invalidate(key: string): void {
    this.lastKey = undefined;
    const below = key + "/";
    const parent = key.slice(0, Math.max(0, key.lastIndexOf("/")));
    for (const [k, v] of this.dirs) {
      if (k === parent) continue;
      if (k === key || k.startsWith(below) || v.viaSymlink) {
        this.dirs.delete(k);
        closeFd(v.fd);
      }
    }
  }

  close(): void {
    this.lastKey = undefined;
    for (const v of this.dirs.values()) closeFd(v.fd);
    this.dirs.clear();
  }
}
