// Applies tar entries to a rootfs through one safe-path layer. The parent directory of each
// entry is opened inside the root (DirCache: openat2 RESOLVE_IN_ROOT), and the entry's own
// name is created in that fd with calls that never follow a symlink in the last component
// (O_CREAT|O_EXCL|O_NOFOLLOW, mkdirat, symlinkat, mknodat, linkat without FOLLOW,
// AT_SYMLINK_NOFOLLOW). So no entry, however named, and no symlink planted by an earlier
// entry or layer, can make a write land outside the root.
import { chmodSync, lstatSync, readdirSync, writeSync } from "node:fs";
import { AT, AT_FDCWD, O, S_IFBLK, S_IFCHR, S_IFIFO } from "../../../ffi/constants.ts";
import { errnoName } from "../../../ffi/errors.ts";
import * as at from "../../../ffi/fs-at.ts";
import { linuxSys } from "../../../ffi/sys.ts";
import { IN_ROOT } from "../../linux/safe-path.ts";
import { BuncError } from "../../errors.ts";
import { DirCache } from "./dir-cache.ts";
import type { InRootPath } from "./entry-path.ts";
import { filterXattr } from "./xattrs.ts";
import { encodeRootlessOwner, OwnerTally, ROOTLESS_XATTR, UnmappedOwnerError } from "./rootless-owner.ts";

const EPERM = 1;
const ENOENT = 2;
const EEXIST = 17;
const ENOTDIR = 20;
const EINVAL = 22;

export interface EntryMeta {
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, with a fraction. */
  mtime: number;
  atime: number;
  xattrs: Map<string, Uint8Array>;
}

export type SpecialKind = "char" | "block" | "fifo";

/** A refused or failed entry: the message names the entry as the archive spells it. */
export function entryError(entry: string, why: string, errno?: number): BuncError {
  return new BuncError("layer", `entry "${entry}": ${why}`, errno);
}


/** The process umask, read without changing it. */
function currentUmask(): number {
  const mask = process.umask(0o022);
  process.umask(mask);
  return mask;
}
const procPath = (fd: number, name?: string) => (name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`);

export class RootfsWriter {
  private readonly rootFd: number;
  private readonly dirs: DirCache;
  private readonly asRoot = process.geteuid?.() === 0;
  private readonly umask = currentUmask();
  private readonly owners = new OwnerTally();
  /** Rootless: directories whose mode would stop us writing into them, set once all layers are in. */
  private readonly lateDirModes = new Map<string, number>();
  // Per layer: what this layer wrote (an opaque marker or whiteout must not hide it), the
  // opaque directories, and directory times to set once their children are all in.
  private written = new Set<string>();
  private ancestors = new Set<string>();
  private opaque: string[] = [];
  private dirTimes: { path: InRootPath; atime: number; mtime: number }[] = [];

  /**
   * `inUserNamespace`: root of a user namespace that maps the image's owners (a rootless
   * unpack with the caller's sub-ids): owners are set, device nodes cannot be made, and an
   * owner the maps leave out stops the unpack (UnmappedOwnerError).
   */
  constructor(
    rootDir: string,
    private readonly warn: (msg: string) => void,
    private readonly inUserNamespace = false,
  ) {
    const fd = at.openAt(AT_FDCWD, rootDir, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
    if (fd < 0) throw new BuncError("layer", `rootfs ${rootDir}: ${errnoName(-fd)}`, -fd);
    this.rootFd = fd;
    this.dirs = new DirCache(fd);
  }

  /** After the last layer: deferred directory modes (deepest first), then the owners' warning. */
  finish(): void {
    for (const [key, mode] of [...this.lateDirModes].sort((a, b) => b[0].length - a[0].length)) {
      const fd = key === "" ? at.openAt(this.rootFd, ".", O.RDONLY | O.DIRECTORY | O.CLOEXEC) : linuxSys.tryOpenat2(this.rootFd, key, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0, IN_ROOT);
      if (fd < 0) continue; // whited out or replaced since
      try {
        const rc = at.fchmod(fd, mode);
        if (rc < 0) throw entryError(key || "/", `chmod: ${errnoName(-rc)}`, -rc);
      } finally {
        at.closeFd(fd);
      }
    }
    this.lateDirModes.clear();
    const warning = this.owners.warning();
    if (warning) this.warn(warning);
  }

  close(): void {
    this.dirs.close();
    at.closeFd(this.rootFd);
  }

  beginLayer(): void {
    this.written = new Set();
    this.ancestors = new Set();
    this.opaque = [];
    this.dirTimes = [];
  }

  /** Opaque directories lose their lower content, then directory times are set deepest first. */
  endLayer(): void {
    this.applyOpaque();
    // A child's key is longer than its parent's: longest first is children first.
    this.dirTimes.sort((a, b) => b.path.key.length - a.path.key.length);
    for (const { path, atime, mtime } of this.dirTimes) {
      if (path.key === "") {
        at.futimens(this.rootFd, atime, mtime);
        continue;
      }
      const pfd = this.dirs.open(path.parent, false);
      // The directory may have been replaced or whited out later in the layer: skip it then.
      if (pfd !== undefined && pfd >= 0) at.utimensAt(pfd, path.name, atime, mtime, AT.SYMLINK_NOFOLLOW);
    }
    this.dirTimes = [];
  }

  private markWritten(key: string): void {
    this.written.add(key);
    for (let i = key.lastIndexOf("/"); i > 0; i = key.lastIndexOf("/", i - 1)) {
      const k = key.slice(0, i);
      if (this.ancestors.has(k)) break;
      this.ancestors.add(k);
    }
  }

  /** The fd of the directory an entry goes in, made if missing. */
  private parentOf(p: InRootPath, entry: string): number {
    const key = p.parent;
    let fd: number | undefined;
    try {
      fd = this.dirs.open(key, true);
    } catch (err) {
      throw entryError(entry, `parent directory: ${(err as Error).message}`, (err as BuncError).errno);
    }
    if (fd === undefined || fd === -ENOTDIR) throw entryError(entry, `a parent of it is not a directory`, ENOTDIR);
    if (fd < 0) throw entryError(entry, `parent directory: ${errnoName(-fd)}`, -fd);
    return fd;
  }

  private refuseRoot(p: InRootPath, entry: string, what: string): void {
    if (p.key === "") throw entryError(entry, `a ${what} cannot replace the root directory`);
  }

  /** Remove whatever is at `name` in `pfd` (recursively for a directory, never following a symlink). */
  private removeAt(pfd: number, name: string, key: string, entry: string): boolean {
    const st = lstatSync(procPath(pfd, name), { throwIfNoEntry: false });
    if (!st) return false;
    if (st.isDirectory()) {
      removeTree(pfd, name, entry);
      this.dirs.invalidate(key);
    } else {
      const rc = at.unlinkAt(pfd, name, 0);
      if (rc < 0 && rc !== -ENOENT) throw entryError(entry, `cannot remove the existing ${key}: ${errnoName(-rc)}`, -rc);
      if (st.isSymbolicLink()) this.dirs.invalidate(key);
    }
    return true;
  }

  /** Create a name with `make`; if something is in the way, remove it and try once more. */
  private create(pfd: number, name: string, key: string, entry: string, make: () => number, what: string): number {
    let rc = make();
    if (rc === -EEXIST) {
      this.removeAt(pfd, name, key, entry);
      rc = make();
    }
    if (rc < 0) throw entryError(entry, `cannot create ${what}: ${errnoName(-rc)}`, -rc);
    return rc;
  }

  /**
   * Give the entry its owner. Without root the owner is kept in the user.rootlesscontainers
   * xattr through `setXattr` where there is one (rootless-owner.ts).
   */
  private chown(entry: string, meta: EntryMeta, rc: () => number, setXattr?: (name: string, value: Uint8Array) => number): void {
    if (!this.asRoot) {
      if (meta.uid === 0 && meta.gid === 0) return;
      const kept = setXattr !== undefined && setXattr(ROOTLESS_XATTR, encodeRootlessOwner(meta.uid, meta.gid)) >= 0;
      this.owners.note(meta.uid, meta.gid, kept);
      return;
    }
    const r = rc();
    if (r === -EINVAL && this.inUserNamespace) throw new UnmappedOwnerError(entry, meta.uid, meta.gid);
    if (r < 0) throw entryError(entry, `chown: ${errnoName(-r)}`, -r);
  }

  /** The creation mode that already is the final mode, if the umask allows one. */
  private modeAtCreate(mode: number): number | undefined {
    return (mode & 0o7000) === 0 && (mode & this.umask) === 0 ? mode & 0o777 : undefined;
  }

  /** Owner, then mode (a chown clears setuid/setgid), then xattrs, on an open fd. */
  private metaOnFd(fd: number, meta: EntryMeta, entry: string, chmod = true, dirKey?: string): void {
    this.chown(entry, meta, () => at.fchown(fd, meta.uid, meta.gid), (name, value) => at.fsetxattr(fd, name, value));
    let mode = meta.mode & 0o7777;
    // Without root a directory we cannot write or enter would refuse the entries below it.
    if (dirKey !== undefined && !this.asRoot && (mode & 0o300) !== 0o300) {
      this.lateDirModes.set(dirKey, mode);
      mode |= 0o700;
    } else if (dirKey !== undefined) this.lateDirModes.delete(dirKey);
    const rc = chmod ? at.fchmod(fd, mode) : 0;
    if (rc < 0) throw entryError(entry, `chmod: ${errnoName(-rc)}`, -rc);
    for (const [name, value] of meta.xattrs) {
      const onDisk = filterXattr(name);
      if (onDisk === undefined) continue;
      const r = at.fsetxattr(fd, onDisk, value);
      if (r < 0) this.warn(`entry "${entry}": xattr ${onDisk} not set: ${errnoName(-r)}`);
    }
  }

  private xattrsByPath(path: string, meta: EntryMeta, entry: string): void {
    for (const [name, value] of meta.xattrs) {
      const onDisk = filterXattr(name);
      if (onDisk === undefined) continue;
      const r = at.lsetxattr(path, onDisk, value);
      if (r < 0) this.warn(`entry "${entry}": xattr ${onDisk} not set: ${errnoName(-r)}`);
    }
  }

  // ---- entries -------------------------------------------------------------------------

  /** Create a regular file and return its fd for the caller to write the content into. */
  beginFile(p: InRootPath, meta: EntryMeta, entry: string): number {
    this.refuseRoot(p, entry, "file");
    const pfd = this.parentOf(p, entry);
    const name = p.name;
    const flags = O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC;
    // Made with its final permission bits when the umask leaves them alone (endFile then
    // needs no chmod); made private otherwise until endFile sets the mode.
    const mode = this.modeAtCreate(meta.mode);
    const fd = this.create(pfd, name, p.key, entry, () => at.openAt(pfd, name, flags, mode ?? 0o600), "file");
    this.markWritten(p.key);
    return fd;
  }

  writeFile(fd: number, chunk: Uint8Array): void {
    for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
  }

  endFile(fd: number, meta: EntryMeta, entry: string): void {
    try {
      this.metaOnFd(fd, meta, entry, this.modeAtCreate(meta.mode) === undefined);
      at.futimens(fd, meta.atime, meta.mtime);
    } finally {
      at.closeFd(fd);
    }
  }

  /** Close a file whose entry failed half way. */
  endFileQuietly(fd: number): void {
    at.closeFd(fd);
  }

  directory(p: InRootPath, meta: EntryMeta, entry: string): void {
    if (p.key === "") {
      this.metaOnFd(this.rootFd, meta, entry, true, "");
      this.dirTimes.push({ path: p, atime: meta.atime, mtime: meta.mtime });
      return;
    }
    const pfd = this.parentOf(p, entry);
    const name = p.name;
    const key = p.key;
    let rc = at.mkdirAt(pfd, name, 0o700);
    if (rc === -EEXIST) {
      // A directory over a directory keeps the content below and takes the new metadata;
      // over anything else, the old thing goes.
      const st = lstatSync(procPath(pfd, name), { throwIfNoEntry: false });
      if (!st?.isDirectory()) {
        this.removeAt(pfd, name, key, entry);
        rc = at.mkdirAt(pfd, name, 0o700);
      } else rc = 0;
    }
    if (rc < 0) throw entryError(entry, `cannot create directory: ${errnoName(-rc)}`, -rc);
    const fd = at.openAt(pfd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC);
    if (fd < 0) throw entryError(entry, `cannot open directory: ${errnoName(-fd)}`, -fd);
    try {
      this.metaOnFd(fd, meta, entry, true, key);
    } catch (err) {
      at.closeFd(fd);
      throw err;
    }
    this.dirs.remember(key, fd, this.dirs.isViaSymlink(p.parent));
    this.markWritten(key);
    this.dirTimes.push({ path: p, atime: meta.atime, mtime: meta.mtime });
  }

  symlink(p: InRootPath, target: string, meta: EntryMeta, entry: string): void {
    this.refuseRoot(p, entry, "symlink");
    const pfd = this.parentOf(p, entry);
    const name = p.name;
    this.create(pfd, name, p.key, entry, () => at.symlinkAt(target, pfd, name), "symlink");
    // Linux allows no user xattrs on symlinks: without root their owner is squashed.
    this.chown(entry, meta, () => at.fchownAt(pfd, name, meta.uid, meta.gid, AT.SYMLINK_NOFOLLOW));
    this.xattrsByPath(procPath(pfd, name), meta, entry);
    at.utimensAt(pfd, name, meta.atime, meta.mtime, AT.SYMLINK_NOFOLLOW);
    this.markWritten(p.key);
  }

  /**
   * A hard link to `targetParts`, looked up inside the root like any path. The target must
   * exist and not be a directory; a symlink target is linked itself, never followed.
   */
  hardlink(p: InRootPath, target: InRootPath, entry: string, linkname: string): void {
    this.refuseRoot(p, entry, "hard link");
    if (target.key === "") throw entryError(entry, `hard link target "${linkname}" is the root directory`);
    const name = p.name;
    const tname = target.name;
    const link = () => {
      const tpfd = this.dirs.open(target.parent, false);
      if (tpfd === undefined) return -ENOENT;
      if (tpfd < 0) return tpfd;
      return at.linkAt(tpfd, tname, this.parentOf(p, entry), name);
    };
    let rc = link();
    if (rc === -EEXIST) {
      if (p.key === target.key) return; // a link to itself: already there
      this.removeAt(this.parentOf(p, entry), name, p.key, entry);
      rc = link();
    }
    if (rc === -ENOENT) throw entryError(entry, `hard link target "${linkname}" does not exist in the rootfs`, ENOENT);
    if (rc === -EPERM) throw entryError(entry, `hard link target "${linkname}" is a directory`, EPERM);
    if (rc < 0) throw entryError(entry, `cannot link to "${linkname}": ${errnoName(-rc)}`, -rc);
    this.markWritten(p.key);
  }

  /** A device node or fifo. Device nodes need root; without it they are skipped, with a warning. */
  special(p: InRootPath, kind: SpecialKind, major: number, minor: number, meta: EntryMeta, entry: string): void {
    this.refuseRoot(p, entry, kind === "fifo" ? "fifo" : "device");
    if (kind !== "fifo" && (!this.asRoot || this.inUserNamespace)) {
      this.warn(`entry "${entry}": device node skipped: ${this.asRoot ? "a user namespace cannot make one" : "not running as root"}`);
      return;
    }
    const pfd = this.parentOf(p, entry);
    const name = p.name;
    const type = kind === "char" ? S_IFCHR : kind === "block" ? S_IFBLK : S_IFIFO;
    const dev = kind === "fifo" ? 0n : at.makedev(major, minor);
    this.create(pfd, name, p.key, entry, () => at.mknodAt(pfd, name, type | 0o600, dev), kind === "fifo" ? "fifo" : "device node");
    // An O_PATH fd of the new node (never a symlink: O_NOFOLLOW) carries owner and mode.
    const fd = at.openAt(pfd, name, O.PATH | O.NOFOLLOW | O.CLOEXEC);
    if (fd < 0) throw entryError(entry, `cannot open the new node: ${errnoName(-fd)}`, -fd);
    try {
      // Linux allows no user xattrs on fifos either.
      this.chown(entry, meta, () => at.fchownAt(fd, "", meta.uid, meta.gid, AT.EMPTY_PATH));
      // chmod through the fd's magic link acts on the node the fd holds, nothing else.
      try {
        chmodSync(procPath(fd), meta.mode & 0o7777);
      } catch (err) {
        throw entryError(entry, `chmod: ${(err as Error).message}`);
      }
      this.xattrsByPath(procPath(fd), meta, entry);
      at.utimensAt(pfd, name, meta.atime, meta.mtime, AT.SYMLINK_NOFOLLOW);
    } finally {
      at.closeFd(fd);
    }
    this.markWritten(p.key);
  }

  /**
   * `.wh.NAME`: NAME from lower layers goes. What this layer itself wrote at NAME stays (a
   * whiteout only applies to lower layers), and then NAME's lower content goes as under an
   * opaque marker.
   */
  whiteout(dir: string, name: string, entry: string): void {
    const key = dir === "" ? name : `${dir}/${name}`;
    if (this.written.has(key) || this.ancestors.has(key)) {
      this.opaque.push(key);
      return;
    }
    const pfd = this.dirs.open(dir, false);
    if (pfd === undefined) return; // nothing below a missing directory to hide
    if (pfd < 0) throw entryError(entry, `whiteout parent: ${errnoName(-pfd)}`, -pfd);
    this.removeAt(pfd, name, key, entry);
  }

  /** `.wh..wh..opq`: the directory's lower content is hidden, whatever the entry order. */
  opaqueDir(dir: string): void {
    this.opaque.push(dir);
  }

  private applyOpaque(): void {
    const done: string[] = [];
    for (const key of [...new Set(this.opaque)].sort((a, b) => a.length - b.length)) {
      if (done.some((d) => d === "" || key === d || key.startsWith(d + "/"))) continue;
      done.push(key);
      const fd = key === "" ? at.openAt(this.rootFd, ".", O.RDONLY | O.DIRECTORY | O.CLOEXEC) : linuxSys.tryOpenat2(this.rootFd, key, O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0, IN_ROOT);
      if (fd < 0) continue; // gone, or not a directory: nothing below it to hide
      try {
        this.clearLower(fd, key);
      } finally {
        at.closeFd(fd);
      }
    }
  }

  /** Remove everything below `fd` that this layer did not write (or write below). */
  private clearLower(fd: number, key: string): void {
    for (const e of readdirSync(procPath(fd), { withFileTypes: true })) {
      const child = key === "" ? e.name : `${key}/${e.name}`;
      if (this.written.has(child) || this.ancestors.has(child)) {
        if (!e.isDirectory()) continue;
        const cfd = at.openAt(fd, e.name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC);
        if (cfd < 0) continue;
        try {
          this.clearLower(cfd, child);
        } finally {
          at.closeFd(cfd);
        }
      } else {
        if (e.isDirectory()) removeTree(fd, e.name, child);
        else {
          const rc = at.unlinkAt(fd, e.name, 0);
          if (rc < 0 && rc !== -ENOENT) throw entryError(child, `cannot remove below an opaque directory: ${errnoName(-rc)}`, -rc);
        }
        this.dirs.invalidate(child);
      }
    }
  }
}

/** Remove a directory tree held by name in `pfd`, never following a symlink. */
export function removeTree(pfd: number, name: string, entry: string): void {
  const fd = at.openAt(pfd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC);
  if (fd < 0) throw entryError(entry, `cannot open ${name} to remove it: ${errnoName(-fd)}`, -fd);
  try {
    for (const e of readdirSync(procPath(fd), { withFileTypes: true })) {
      if (e.isDirectory()) removeTree(fd, e.name, entry);
      else {
        const rc = at.unlinkAt(fd, e.name, 0);
        if (rc < 0 && rc !== -ENOENT) throw entryError(entry, `cannot remove ${e.name}: ${errnoName(-rc)}`, -rc);
      }
    }
  } finally {
    at.closeFd(fd);
  }
  const rc = at.unlinkAt(pfd, name, AT.REMOVEDIR);
  if (rc < 0 && rc !== -ENOENT) throw entryError(entry, `cannot remove directory ${name}: ${errnoName(-rc)}`, -rc);
}
