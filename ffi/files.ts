// Plain file I/O on libc: what the container stages need of a file system API. Loading
// node:fs costs a Bun process ~2.5 ms (more than its own start-up shrinks to without it),
// and the init and exec stages need only these few calls.
import { cstr, errno, lib } from "./libc.ts";
import { decodeText, encodeText } from "./text.ts";
import { EEXIST, EINTR, SysError } from "./errors.ts";
import { AT_FDCWD, O } from "./constants.ts";

const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_BASIC_STATS = 0x7ff;
const S_IFMT = 0o170000;

export interface FileStat {
  mode: number;
  uid: number;
  gid: number;
  ino: bigint;
  size: number;
  /** The device the file is on and, for a device node, the one it is: dev_t as glibc encodes it. */
  dev: number;
  rdev: number;
  isDirectory: boolean;
  isFile: boolean;
}

/** glibc's makedev: the dev_t that stat(2) gives and mknod(2) takes. */
function makedev(major: number, minor: number): number {
  const minorLow = minor % 256;
  const majorLow = major % 4096;
  return minorLow + majorLow * 2 ** 8 + (minor - minorLow) * 2 ** 12 + (major - majorLow) * 2 ** 32;
}

function statxAt(dirfd: number, path: string, flags: number, what: string): FileStat {
  const buf = new Uint8Array(256); // struct statx
  if (lib().statx(dirfd, cstr(path), flags, STATX_BASIC_STATS, buf) !== 0) throw new SysError("stat", errno(), what);
  const view = new DataView(buf.buffer);
  const mode = view.getUint16(28, true);
  return {
    mode,
    uid: view.getUint32(20, true),
    gid: view.getUint32(24, true),
    ino: view.getBigUint64(32, true),
    size: Number(view.getBigUint64(40, true)),
    rdev: makedev(view.getUint32(128, true), view.getUint32(132, true)),
    dev: makedev(view.getUint32(136, true), view.getUint32(140, true)),
    isDirectory: (mode & S_IFMT) === 0o040000,
    isFile: (mode & S_IFMT) === 0o100000,
  };
}

/** stat(2), or lstat(2) with `follow` false. */
export const statPath = (path: string, follow = true): FileStat => statxAt(AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW, path);

export const statFd = (fd: number): FileStat => statxAt(fd, "", AT_EMPTY_PATH, `fd ${fd}`);

export function pathExists(path: string): boolean {
  try {
    statPath(path);
    return true;
  } catch {
    return false;
  }
}

/** read(2) into `buf` at `offset`, retried on EINTR; 0 at end of file. Throws SysError (EAGAIN too). */
export function readFd(fd: number, buf: Uint8Array, offset = 0, length = buf.length - offset): number {
  for (;;) {
    const n = Number(lib().read(fd, buf.subarray(offset, offset + length), length));
    if (n >= 0) return n;
    const e = errno();
    if (e !== EINTR) throw new SysError("read", e, `fd ${fd}`);
  }
}

/** One write(2) of `data` from `offset`: the count written, or the errno as a negative. */
export function writeSome(fd: number, data: Uint8Array, offset = 0): number {
  const n = Number(lib().write(fd, data.subarray(offset), data.length - offset));
  return n >= 0 ? n : -errno();
}

/** write(2) of all of `data`, retried on EINTR and short writes. */
export function writeFd(fd: number, data: Uint8Array | string): void {
  const bytes = typeof data === "string" ? encodeText(data) : data;
  let off = 0;
  while (off < bytes.length) {
    const n = writeSome(fd, bytes, off);
    if (n >= 0) off += n;
    else if (n !== -EINTR) throw new SysError("write", -n, `fd ${fd}`);
  }
}

function openFile(path: string, flags: number): number {
  const fd = lib().openat(AT_FDCWD, cstr(path), flags | O.CLOEXEC, 0o644);
  if (fd < 0) throw new SysError("open", errno(), path);
  return fd;
}

/** mkdir(2); an existing directory is an error (EEXIST) the caller can tell by its errno. */
export function mkdirPath(path: string, mode: number): void {
  if (lib().mkdirat(AT_FDCWD, cstr(path), mode) !== 0) throw new SysError("mkdir", errno(), path);
}

/** mkdir -p: every missing directory of `path`, each with `mode`. */
export function mkdirAll(path: string, mode: number): void {
  let prefix = path.startsWith("/") ? "" : ".";
  for (const part of path.split("/").filter(Boolean)) {
    prefix += `/${part}`;
    if (lib().mkdirat(AT_FDCWD, cstr(prefix), mode) !== 0 && errno() !== EEXIST) throw new SysError("mkdir", errno(), prefix);
  }
}

const AT_REMOVEDIR = 0x200;

/** readlink(2): the target of a symlink, or of a magic link such as /proc/<pid>/ns/pid. */
export const readlinkPath = (path: string): string => readlinkAt(AT_FDCWD, path);

/** readlinkat(2), `path` relative to `dirfd`. */
export function readlinkAt(dirfd: number, path: string): string {
  const buf = new Uint8Array(4096);
  const n = Number(lib().readlinkat(dirfd, cstr(path), buf, buf.length));
  if (n < 0) throw new SysError("readlink", errno(), path);
  if (n === buf.length) throw new SysError("readlink", 36 /* ENAMETOOLONG */, path);
  return decodeText(buf.subarray(0, n));
}

/** unlink(2), or rmdir(2) of an empty directory with `dir`. Throws SysError (ENOENT too). */
export function removePath(path: string, dir = false): void {
  if (lib().unlinkat(AT_FDCWD, cstr(path), dir ? AT_REMOVEDIR : 0) !== 0) throw new SysError(dir ? "rmdir" : "unlink", errno(), path);
}

/** chmod(2), which the umask does not touch. */
export function chmodPath(path: string, mode: number): void {
  if (lib().fchmodat(AT_FDCWD, cstr(path), mode, 0) !== 0) throw new SysError("chmod", errno(), path);
}

// One read buffer for every readTextFile (the calls are synchronous): state files and procfs
// files are a few KB, and allocating 64 KB per read showed in every command's start-up.
let readScratch: Uint8Array | undefined;

/** A whole file as text (procfs files too: read until end of file, not by their size). */
export function readTextFile(path: string, encoding: "utf8" | "latin1" = "utf8"): string {
  const fd = openFile(path, O.RDONLY);
  try {
    let buf = (readScratch ??= new Uint8Array(65536));
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
      const n = readFd(fd, buf, len);
      if (n === 0) return decodeText(buf.subarray(0, len), encoding);
      len += n;
    }
  } finally {
    lib().close(fd);
  }
}

/** Creates (or truncates) `path` with `mode` and writes `data` to it. */
export function writeNewFile(path: string, data: Uint8Array | string, mode: number): void {
  const fd = lib().openat(AT_FDCWD, cstr(path), O.WRONLY | O.CREAT | O.TRUNC | O.CLOEXEC, mode);
  if (fd < 0) throw new SysError("open", errno(), path);
  try {
    writeFd(fd, data);
  } finally {
    lib().close(fd);
  }
}

/** rename(2). */
export function renamePath(from: string, to: string): void {
  if (lib().renameat(AT_FDCWD, cstr(from), AT_FDCWD, cstr(to)) !== 0) throw new SysError("rename", errno(), `${from} to ${to}`);
}

/** Writes `text` to an existing file (a procfs or cgroup file), in one write(2). */
export function writeTextFile(path: string, text: string): void {
  const fd = openFile(path, O.WRONLY);
  try {
    writeFd(fd, text);
  } finally {
    lib().close(fd);
  }
}
