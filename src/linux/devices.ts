// The device nodes every container gets (runtime-spec config-linux.md "Default Devices"),
// plus `linux.devices`, and the /dev symlinks. All made through an fd of the rootfs's /dev
// opened without following symlinks: an image whose /dev is a symlink cannot aim them at
// the host. In a user namespace mknod is not allowed: the host node is bind-mounted instead.
import { AT, O, RESOLVE, S_IFBLK, S_IFCHR, S_IFIFO } from "../../ffi/constants.ts";
import { EEXIST, ENOENT } from "../../ffi/errors.ts";
import type { Sys } from "../../ffi/sys.ts";
import { BuncError } from "../errors.ts";
import { fdPath, IN_ROOT, mkdirAllInRoot } from "./safe-path.ts";

export interface DeviceSpec {
  path: string;
  type: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export const DEFAULT_DEVICES: DeviceSpec[] = [
  { path: "/dev/null", type: "c", major: 1, minor: 3, fileMode: 0o666 },
  { path: "/dev/zero", type: "c", major: 1, minor: 5, fileMode: 0o666 },
  { path: "/dev/full", type: "c", major: 1, minor: 7, fileMode: 0o666 },
  { path: "/dev/random", type: "c", major: 1, minor: 8, fileMode: 0o666 },
  { path: "/dev/urandom", type: "c", major: 1, minor: 9, fileMode: 0o666 },
  { path: "/dev/tty", type: "c", major: 5, minor: 0, fileMode: 0o666 },
];

export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n) | ((ma & ~0xfffn) << 32n);
}

const typeBits = (d: DeviceSpec, field: string): number => {
  switch (d.type) {
    case "c":
    case "u":
      return S_IFCHR;
    case "b":
      return S_IFBLK;
    case "p":
      return S_IFIFO;
    default:
      throw new BuncError("config", `${field}.type: unknown device type ${JSON.stringify(d.type)}`);
  }
};

/** Open the rootfs's /dev as a real directory: a symlinked /dev is refused. */
export function openDevDir(sys: Sys, rootFd: number): number {
  try {
    return sys.openat2(rootFd, "dev", O.PATH | O.DIRECTORY | O.CLOEXEC, 0, IN_ROOT | RESOLVE.NO_SYMLINKS);
  } catch (err) {
    if ((err as { errno?: number }).errno === ENOENT) return mkdirAllInRoot(sys, rootFd, "/dev");
    throw new BuncError("config", `rootfs /dev must be a directory, not a symlink or a file (${(err as Error).message})`);
  }
}

/** Create one device node under the rootfs (its path must be directly under /dev or deeper). */
export function createDevice(sys: Sys, rootFd: number, d: DeviceSpec, field: string, userns: boolean): void {
  const parts = d.path.split("/").filter(Boolean);
  const name = parts.pop();
  if (!name || !d.path.startsWith("/dev/")) throw new BuncError("config", `${field}.path: ${JSON.stringify(d.path)} must be under /dev`);
  const parent = mkdirAllInRoot(sys, rootFd, parts.join("/"));
  try {
    sys.unlinkIfPresent(parent, name, 0);
    if (userns) {
      // No mknod in a user namespace: bind the host's node onto an empty file.
      const target = sys.openat(parent, name, O.CREAT | O.EXCL | O.NOFOLLOW | O.WRONLY | O.CLOEXEC, 0o600);
      try {
        sys.mount(d.path, fdPath(target), null, 0x1000 /* MS_BIND */, null);
      } finally {
        sys.close(target);
      }
      return;
    }
    const mode = (d.fileMode ?? 0o666) & 0o7777;
    sys.mknodat(parent, name, typeBits(d, field) | mode, makedev(d.major ?? 0, d.minor ?? 0));
    if (d.uid !== undefined || d.gid !== undefined) {
      sys.fchownat(parent, name, d.uid ?? 0, d.gid ?? 0, AT.SYMLINK_NOFOLLOW);
    }
  } finally {
    sys.close(parent);
  }
}

export interface DevSymlink {
  name: string;
  target: string;
  /** Remove what is there first (otherwise an existing entry is left alone). */
  replace?: boolean;
}

export function devSymlinks(withKcore: boolean): DevSymlink[] {
  const links: DevSymlink[] = [
    { name: "fd", target: "/proc/self/fd" },
    { name: "stdin", target: "/proc/self/fd/0" },
    { name: "stdout", target: "/proc/self/fd/1" },
    { name: "stderr", target: "/proc/self/fd/2" },
  ];
  if (withKcore) links.push({ name: "core", target: "/proc/kcore" });
  // Always, as runc does, whether or not /dev/pts is mounted: whatever the image had at
  // /dev/ptmx is replaced, so the ptmx in use is the one of the container's devpts.
  links.push({ name: "ptmx", target: "pts/ptmx", replace: true });
  return links;
}

export function createDevSymlinks(sys: Sys, devFd: number, links: DevSymlink[]): void {
  for (const link of links) {
    if (link.replace) sys.unlinkIfPresent(devFd, link.name, 0);
    try {
      sys.symlinkat(link.target, devFd, link.name);
    } catch (err) {
      if ((err as { errno?: number }).errno !== EEXIST) throw err;
    }
  }
}
