// The `tmpcopyup` mount option (runc's extension, which podman puts on every tmpfs it asks
// for): a tmpfs mounted over a directory of the image starts with that directory's content,
// its mode and owner. The directory is opened before the mount; the fd keeps reaching the
// shadowed content afterwards, and it is copied into the fresh tmpfs.
//
// Both sides are reached through /proc/self/fd/N: the source is the rootfs directory held
// open (symlinks in it are copied as links, never followed), the target an fd of the new
// tmpfs, which holds only what is copied here.
import { chmodSync, chownSync, copyFileSync, lchownSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, statSync, symlinkSync, type Stats } from "node:fs";
import { AT_FDCWD } from "../../ffi/constants.ts";
import type { Sys } from "../../ffi/sys.ts";
import { fdPath } from "./safe-path.ts";

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFSOCK = 0o140000;

/** Copies the tree of the directory `srcDirFd` (an fd opened with O_RDONLY|O_DIRECTORY before
 *  the tmpfs covered it) into the tmpfs whose root is `dstDirFd`. When the directory was the
 *  image's (`keepOwner`), not one just made for the mount, the tmpfs root takes its mode and owner. */
export function copyUp(sys: Sys, srcDirFd: number, dstDirFd: number, keepOwner: boolean): void {
  const src = fdPath(srcDirFd);
  const dst = fdPath(dstDirFd);
  copyEntries(sys, src, dst);
  if (!keepOwner) return;
  const root = statSync(src); // follows the /proc/self/fd link to the directory
  chownSync(dst, root.uid, root.gid);
  chmodSync(dst, root.mode & 0o7777);
}

function copyEntries(sys: Sys, srcDir: string, dstDir: string): void {
  for (const name of readdirSync(srcDir)) {
    const from = `${srcDir}/${name}`;
    const to = `${dstDir}/${name}`;
    const st = lstatSync(from);
    copyEntry(sys, from, to, st);
  }
}

function copyEntry(sys: Sys, from: string, to: string, st: Stats): void {
  const type = st.mode & S_IFMT;
  if (type === S_IFDIR) {
    mkdirSync(to, { mode: 0o700 });
    copyEntries(sys, from, to);
  } else if (type === S_IFREG) {
    copyFileSync(from, to);
  } else if (type === S_IFLNK) {
    symlinkSync(readlinkSync(from), to);
  } else if (type === S_IFSOCK) {
    return; // a socket is nothing without the process that listens on it
  } else {
    sys.mknodat(AT_FDCWD, to, st.mode, BigInt(st.rdev));
  }
  lchownSync(to, st.uid, st.gid);
  if (type !== S_IFLNK) chmodSync(to, st.mode & 0o7777);
  lutimesSync(to, st.atime, st.mtime);
}
