// The *at file calls a layer unpacker makes tens of thousands of times: each acts on a name
// inside a directory fd, never on a path string from the top. They return the fd (or 0) on
// success and -errno on failure, so a caller can branch on EEXIST without an exception.
import { cstr, errno, lib } from "./libc.ts";

const ret = (rc: number) => (rc < 0 ? -errno() : rc);

// Two scratch buffers for the C strings of the hot calls (at most two names per call), so
// that applying 50k entries does not allocate 100k small buffers. The calls are synchronous.
const SCRATCH = 4096 + 1;
const scratchA = Buffer.allocUnsafe(SCRATCH);
const scratchB = Buffer.allocUnsafe(SCRATCH);
function cs(s: string, scratch: Buffer): Uint8Array {
  if (s.length * 3 >= SCRATCH) return cstr(s);
  const n = scratch.write(s, 0, "utf8");
  scratch[n] = 0;
  return scratch;
}

/** openat(2); with O_NOFOLLOW the last component is never a symlink followed. */
export function openAt(dirfd: number, name: string, flags: number, mode = 0): number {
  return ret(lib().openat(dirfd, cs(name, scratchA), flags, mode));
}

export function mkdirAt(dirfd: number, name: string, mode: number): number {
  return ret(lib().mkdirat(dirfd, cs(name, scratchA), mode));
}

export function mknodAt(dirfd: number, name: string, mode: number, dev: bigint): number {
  return ret(lib().mknodat(dirfd, cs(name, scratchA), mode, dev));
}

export function symlinkAt(target: string, dirfd: number, name: string): number {
  return ret(lib().symlinkat(cs(target, scratchB), dirfd, cs(name, scratchA)));
}

/** linkat(2) without AT_SYMLINK_FOLLOW: a symlink source is linked itself, not its target. */
export function linkAt(fromDir: number, fromName: string, toDir: number, toName: string): number {
  return ret(lib().linkat(fromDir, cs(fromName, scratchB), toDir, cs(toName, scratchA), 0));
}

export function unlinkAt(dirfd: number, name: string, flags: number): number {
  return ret(lib().unlinkat(dirfd, cs(name, scratchA), flags));
}

export function fchownAt(dirfd: number, name: string, uid: number, gid: number, flags: number): number {
  return ret(lib().fchownat(dirfd, cs(name, scratchA), uid, gid, flags));
}

export function fchown(fd: number, uid: number, gid: number): number {
  return ret(lib().fchown(fd, uid, gid));
}

export function fchmod(fd: number, mode: number): number {
  return ret(lib().fchmod(fd, mode));
}

export function closeFd(fd: number): void {
  lib().close(fd);
}

const times = new BigInt64Array(4);
// The same memory as 32-bit words (little-endian x86_64/aarch64): filled without BigInts,
// which cost an allocation each on a call made once per entry.
const words = new Int32Array(times.buffer);
function put(at: number, value: number): void {
  words[at] = value | 0; // the low 32 bits (two's complement for a negative value)
  words[at + 1] = Math.floor(value / 4294967296);
}
/** struct timespec[2] (atime, mtime) from seconds with a fraction (one scratch array). */
function timespecs(atime: number, mtime: number): BigInt64Array {
  const sa = Math.floor(atime);
  const sm = Math.floor(mtime);
  put(0, sa);
  put(2, Math.min(999_999_999, Math.round((atime - sa) * 1e9)));
  put(4, sm);
  put(6, Math.min(999_999_999, Math.round((mtime - sm) * 1e9)));
  return times;
}

/** Set atime and mtime (seconds since the epoch) of an open file. */
export function futimens(fd: number, atime: number, mtime: number): number {
  return ret(lib().futimens(fd, timespecs(atime, mtime)));
}

/** utimensat(2) on `name` in `dirfd`; with AT_SYMLINK_NOFOLLOW a symlink's own times. */
export function utimensAt(dirfd: number, name: string, atime: number, mtime: number, flags: number): number {
  return ret(lib().utimensat(dirfd, cs(name, scratchA), timespecs(atime, mtime), flags));
}

export function fsetxattr(fd: number, name: string, value: Uint8Array): number {
  return ret(lib().fsetxattr(fd, cstr(name), value.length ? value : new Uint8Array(1), value.length, 0));
}

/** lsetxattr(2): on a symlink itself (the path's last component is not followed). */
export function lsetxattr(path: string, name: string, value: Uint8Array): number {
  return ret(lib().lsetxattr(cstr(path), cstr(name), value.length ? value : new Uint8Array(1), value.length, 0));
}

/** lgetxattr(2): the value of `name` on `path` itself (a symlink is not followed), or -errno. */
export function lgetxattr(path: string, name: string): Uint8Array | number {
  const buf = Buffer.allocUnsafe(65536);
  const n = Number(lib().lgetxattr(cstr(path), cstr(name), buf, buf.length));
  if (n < 0) return -errno();
  return new Uint8Array(buf.subarray(0, n));
}

/** glibc's makedev: the dev_t of a device number pair. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}
