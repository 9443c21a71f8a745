// A copy of a directory tree as `cp -a` makes it: modes, owners, times, symlinks, hard links
// within the tree, device nodes, fifos and sockets kept. The fallback for a container's
// rootfs where overlayfs cannot be mounted. Extended attributes are not copied.
import { chmodSync, copyFileSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, type Stats } from "node:fs";
import { join } from "node:path";
import { AT_FDCWD } from "../../../ffi/constants.ts";
import { linuxSys } from "../../../ffi/sys.ts";

/** Copies the tree at `from` to `to` (which must not exist). */
export function copyTree(from: string, to: string): void {
  const links = new Map<string, string>();
  const dirs: Array<[string, Stats]> = [];
  copyEntry(from, to, links, dirs);
  // Directory times last: filling a directory changes its mtime.
  for (const [path, st] of dirs.reverse()) lutimesSync(path, st.atime, st.mtime);
}

function copyEntry(from: string, to: string, links: Map<string, string>, dirs: Array<[string, Stats]>): void {
  const st = lstatSync(from);
  if (!st.isDirectory() && st.nlink > 1) {
    const key = `${st.dev}:${st.ino}`;
    const first = links.get(key);
    if (first !== undefined) return linkSync(first, to);
    links.set(key, to);
  }
  if (st.isDirectory()) {
    mkdirSync(to, { mode: 0o700 });
    for (const name of readdirSync(from)) copyEntry(join(from, name), join(to, name), links, dirs);
  } else if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(from), to);
  } else if (st.isFile()) {
    copyFileSync(from, to);
  } else {
    // Devices, fifos, sockets: the file type bits and rdev say what to make.
    linuxSys.mknodat(AT_FDCWD, to, st.mode, BigInt(st.rdev));
  }
  lchownSync(to, st.uid, st.gid);
  // After chown, which clears the setuid and setgid bits.
  if (!st.isSymbolicLink()) chmodSync(to, st.mode & 0o7777);
  if (st.isDirectory()) dirs.push([to, st]);
  else lutimesSync(to, st.atime, st.mtime);
}
