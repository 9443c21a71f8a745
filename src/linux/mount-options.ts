// runtime-spec mount options → mount(2) flags, propagation, mount_setattr attributes and the
// filesystem's own data string (what is left: mode=, size=, newinstance, …).
import { MOUNT_ATTR, MS } from "../../ffi/constants.ts";

export interface MountOptions {
  /** Flags for mount(2). */
  flags: number;
  /** Flags to clear (from "rw", "suid", …) — only matters for remounts. */
  clear: number;
  /** Propagation flags to apply after the mount, each with or without MS_REC. */
  propagation: number[];
  /** Attributes set recursively with mount_setattr (from rro, rnosuid, …). */
  recursiveSet: bigint;
  recursiveClear: bigint;
  data: string[];
  bind: boolean;
  recursive: boolean;
  /** "tmpcopyup": a tmpfs starts with the content of the directory it covers. */
  copyUp: boolean;
}

const FLAGS: Record<string, [set: number, clear: number]> = {
  defaults: [0, 0],
  ro: [MS.RDONLY, 0],
  rw: [0, MS.RDONLY],
  suid: [0, MS.NOSUID],
  nosuid: [MS.NOSUID, 0],
  dev: [0, MS.NODEV],
  nodev: [MS.NODEV, 0],
  exec: [0, MS.NOEXEC],
  noexec: [MS.NOEXEC, 0],
  sync: [MS.SYNCHRONOUS, 0],
  async: [0, MS.SYNCHRONOUS],
  dirsync: [MS.DIRSYNC, 0],
  remount: [MS.REMOUNT, 0],
  mand: [MS.MANDLOCK, 0],
  nomand: [0, MS.MANDLOCK],
  atime: [0, MS.NOATIME],
  noatime: [MS.NOATIME, 0],
  diratime: [0, MS.NODIRATIME],
  nodiratime: [MS.NODIRATIME, 0],
  relatime: [MS.RELATIME, 0],
  norelatime: [0, MS.RELATIME],
  strictatime: [MS.STRICTATIME, 0],
  nostrictatime: [0, MS.STRICTATIME],
  lazytime: [MS.LAZYTIME, 0],
  nolazytime: [0, MS.LAZYTIME],
  symfollow: [0, MS.NOSYMFOLLOW],
  nosymfollow: [MS.NOSYMFOLLOW, 0],
};

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

const MOUNT_ATTR_NOATIME = 0x10n;
const MOUNT_ATTR_STRICTATIME = 0x20n;
const MOUNT_ATTR_NODIRATIME = 0x80n;
const MOUNT_ATTR_NOSYMFOLLOW = 0x200000n;

// rro, rnosuid, … (runc ≥ 1.1): applied to the whole subtree with mount_setattr(AT_RECURSIVE).
const RECURSIVE: Record<string, [set: bigint, clear: bigint]> = {
  rro: [BigInt(MOUNT_ATTR.RDONLY), 0n],
  rrw: [0n, BigInt(MOUNT_ATTR.RDONLY)],
  rnosuid: [BigInt(MOUNT_ATTR.NOSUID), 0n],
  rsuid: [0n, BigInt(MOUNT_ATTR.NOSUID)],
  rnodev: [BigInt(MOUNT_ATTR.NODEV), 0n],
  rdev: [0n, BigInt(MOUNT_ATTR.NODEV)],
  rnoexec: [BigInt(MOUNT_ATTR.NOEXEC), 0n],
  rexec: [0n, BigInt(MOUNT_ATTR.NOEXEC)],
  rnoatime: [MOUNT_ATTR_NOATIME, 0n],
  rstrictatime: [MOUNT_ATTR_STRICTATIME, 0n],
  rnodiratime: [MOUNT_ATTR_NODIRATIME, 0n],
  rdiratime: [0n, MOUNT_ATTR_NODIRATIME],
  rnosymfollow: [MOUNT_ATTR_NOSYMFOLLOW, 0n],
  rsymfollow: [0n, MOUNT_ATTR_NOSYMFOLLOW],
};

export function parseMountOptions(options: string[] | undefined, type?: string): MountOptions {
  const out: MountOptions = {
    flags: 0,
    clear: 0,
    propagation: [],
    recursiveSet: 0n,
    recursiveClear: 0n,
    data: [],
    bind: type === "bind" || type === "rbind",
    recursive: type === "rbind",
    copyUp: false,
  };
  for (const option of options ?? []) {
    const flag = FLAGS[option];
    if (flag) {
      out.flags = (out.flags | flag[0]) & ~flag[1];
      out.clear |= flag[1];
    } else if (option === "bind") {
      out.bind = true;
    } else if (option === "rbind") {
      out.bind = true;
      out.recursive = true;
    } else if (option === "tmpcopyup") {
      out.copyUp = true;
    } else if (option in PROPAGATION) {
      out.propagation.push(PROPAGATION[option]!);
    } else if (option in RECURSIVE) {
      const [set, clear] = RECURSIVE[option]!;
      out.recursiveSet = (out.recursiveSet | set) & ~clear;
      out.recursiveClear = (out.recursiveClear | clear) & ~set;
    } else {
      out.data.push(option);
    }
  }
  return out;
}

const MOUNT_ATTR_ATIME_MASK = 0x70n;

/**
 * mount_setattr attributes for a bind mount made with open_tree: what the options set, and
 * clear only what they explicitly clear ("rw", "suid", …), so flags the kernel locked on the
 * source (in a user namespace) are left alone.
 */
export function attributesOf(flags: number, clearFlags: number): { set: bigint; clear: bigint } {
  let set = 0n;
  let clear = 0n;
  const pairs: [number, bigint][] = [
    [MS.RDONLY, BigInt(MOUNT_ATTR.RDONLY)],
    [MS.NOSUID, BigInt(MOUNT_ATTR.NOSUID)],
    [MS.NODEV, BigInt(MOUNT_ATTR.NODEV)],
    [MS.NOEXEC, BigInt(MOUNT_ATTR.NOEXEC)],
    [MS.NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW],
    [MS.NODIRATIME, MOUNT_ATTR_NODIRATIME],
  ];
  for (const [ms, attr] of pairs) {
    if (flags & ms) set |= attr;
    else if (clearFlags & ms) clear |= attr;
  }
  // atime is a 3-way field: touch it only when asked.
  if (flags & MS.NOATIME) {
    set |= MOUNT_ATTR_NOATIME;
    clear |= MOUNT_ATTR_ATIME_MASK;
  } else if (flags & MS.STRICTATIME) {
    set |= MOUNT_ATTR_STRICTATIME;
    clear |= MOUNT_ATTR_ATIME_MASK;
  }
  return { set, clear };
}

/** Every option name this parser gives a meaning (for `features`). */
export const KNOWN_MOUNT_OPTIONS: string[] = [...Object.keys(FLAGS), "bind", "rbind", "tmpcopyup", ...Object.keys(PROPAGATION), ...Object.keys(RECURSIVE)];
