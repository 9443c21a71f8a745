// Reading a small text file of an unpacked rootfs (/etc/passwd, /etc/group) without trusting
// the rootfs: the path is resolved with openat2(RESOLVE_IN_ROOT), so a symlink to
// /etc/shadow means the rootfs's own /etc/shadow, never the host's; only a regular file is
// read (a fifo would block, a device could be endless), and only up to a bound.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { AT_FDCWD, O } from "../../../ffi/constants.ts";
import { linuxSys, type Sys } from "../../../ffi/sys.ts";
import { fdPath, tryOpenInRoot } from "../../linux/safe-path.ts";
import { BuncError, messageOf } from "../../errors.ts";

/** The largest /etc/passwd or /etc/group read: far more than any real one. */
export const MAX_ROOTFS_FILE = 1 << 20;

/**
 * The text of `path` inside `rootfsDir`, or undefined when it does not exist.
 * Throws, naming the file, when it is not a regular file or is larger than `limit` bytes.
 */
export function readRootfsFile(rootfsDir: string, path: string, limit = MAX_ROOTFS_FILE, sys: Sys = linuxSys): string | undefined {
  const what = `rootfs file ${path}`;
  let rootFd = -1;
  let pathFd: number | undefined;
  let fd = -1;
  try {
    rootFd = sys.openat(AT_FDCWD, rootfsDir, O.PATH | O.DIRECTORY | O.CLOEXEC);
    pathFd = tryOpenInRoot(sys, rootFd, path, O.PATH);
    if (pathFd === undefined) return undefined;
    // Check the type on an O_PATH fd, which opens nothing: opening a fifo or a device to
    // look at it could block or have effects.
    const st = fstatSync(pathFd);
    if (!st.isFile()) throw new BuncError("config", `${what} is not a regular file`);
    if (st.size > limit) throw new BuncError("config", `${what} is larger than ${limit} bytes (${st.size})`);
    // Reopen the very inode the O_PATH fd holds, now for reading.
    fd = openSync(fdPath(pathFd), O.RDONLY | O.NOCTTY | O.NONBLOCK | O.CLOEXEC);
    const buf = Buffer.alloc(limit + 1);
    let size = 0;
    for (let n; size < buf.length && (n = readSync(fd, buf, size, buf.length - size, null)) > 0; ) size += n;
    // The file may have grown since fstat.
    if (size > limit) throw new BuncError("config", `${what} is larger than ${limit} bytes`);
    return buf.toString("utf8", 0, size);
  } catch (err) {
    if (err instanceof BuncError) {
      if (err.message.startsWith(what)) throw err;
      throw new BuncError(err.code, `${what}: ${err.message}`, err.errno);
    }
    throw new BuncError("config", `${what}: ${messageOf(err)}`);
  } finally {
    if (fd >= 0) closeSync(fd);
    if (pathFd !== undefined) sys.close(pathFd);
    if (rootFd >= 0) sys.close(rootFd);
  }
}
