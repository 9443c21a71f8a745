// The container's filesystem, built by the init in its own mount namespace, in runc's order:
// root propagation, rootfs bind, config mounts, devices, /dev symlinks, masked and read-only
// paths, then pivot_root (or MS_MOVE + chroot with --no-pivot), read-only root, propagation.
// Every target inside the rootfs is reached through safe-path.ts.
import { pathExists, statPath } from "../../ffi/files.ts";
import { isAbsolutePath, joinPath, normalizePath } from "./posix-path.ts";
import { AT, AT_FDCWD, MNT_DETACH, MOUNT_ATTR, MS, O, OPEN_TREE, RESOLVE } from "../../ffi/constants.ts";
import { ENOENT } from "../../ffi/errors.ts";
import type { Sys } from "../../ffi/sys.ts";
import { BuncError, messageOf } from "../errors.ts";
import { writeSysctls } from "./sysctl.ts";
import type { Mount } from "../spec/runtime-config.ts";
import { mountCgroups } from "./cgroup-mount.ts";
import { mountOf, readMountinfo } from "./mountinfo.ts";
import { createDevice, createDevSymlinks, DEFAULT_DEVICES, devSymlinks, openDevDir, type DeviceSpec } from "./devices.ts";
import { attributesOf, parseMountOptions } from "./mount-options.ts";
import { EMPTY_PATH, ensureFileInRoot, fdPath, IN_ROOT, mkdirAllInRoot, openInRoot, tryOpenInRoot } from "./safe-path.ts";

export interface RootfsPlan {
  /** Absolute host path of the rootfs. */
  rootfs: string;
  bundle: string;
  mounts: Mount[];
  readonly: boolean;
  rootfsPropagation?: string;
  noPivot: boolean;
  devices: DeviceSpec[];
  maskedPaths: string[];
  readonlyPaths: string[];
  userns: boolean;
  /** False when the container shares the caller's mount namespace (runc allows it). */
  mountNamespace: boolean;
  /** process.cwd: made here, before the root may turn read-only. */
  cwd: string;
  sysctl: Record<string, string>;
  /** Runs before the first cgroup mount (the cgroup namespace must exist by then). */
  beforeCgroupMount?: () => void;
  /** Runs after every mount is in place, before the root changes (createRuntime hooks). */
  beforePivot?: () => void;
  /** Without a cgroup namespace: the container's cgroup dirs, bound in place of cgroup mounts. */
  cgroupDirs?: Record<string, string>;
}

const PROPAGATION_FLAGS: Record<string, number> = {
  shared: MS.SHARED,
  slave: MS.SLAVE,
  private: MS.PRIVATE,
  unbindable: MS.UNBINDABLE,
  rshared: MS.SHARED | MS.REC,
  rslave: MS.SLAVE | MS.REC,
  rprivate: MS.PRIVATE | MS.REC,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** An absolute path with ".", ".." and doubled slashes resolved (".." stops at the root). */
const clean = (path: string) => normalizePath(`/${path}`).replace(/(.)\/+$/, "$1");

const overlaps = (a: string, b: string) => a === b || a.startsWith(b === "/" ? "/" : `${b}/`) || b.startsWith(a === "/" ? "/" : `${a}/`);

/**
 * Cgroup mounts that can wait until the other mounts, the devices and the cwd are done:
 * a cgroup mount needs the init placed in its cgroup (the cgroup namespace is made then),
 * and the CLI's placement takes the kernel 10-25 ms on cgroup v1. Mounted later, that wait
 * overlaps the rest of the setup. Only where it changes nothing: no later mount, /dev or
 * the cwd lies on, above or below it.
 */
function deferredCgroupMounts(plan: RootfsPlan): Set<number> {
  const out = new Set<number>();
  plan.mounts.forEach((m, i) => {
    if (m.type !== "cgroup" || !plan.beforeCgroupMount) return;
    const dest = clean(m.destination);
    const later = plan.mounts.slice(i + 1).map((n) => clean(n.destination));
    if ([...later, "/dev"].some((other) => overlaps(dest, other))) return;
    // The cwd is made before: only a cwd on or inside the mount would be hidden by it.
    const cwd = clean(plan.cwd);
    if (cwd === dest || cwd.startsWith(`${dest}/`)) return;
    out.add(i);
  });
  return out;
}

const PROC_SUPER_MAGIC = 0x9fa0;
// Files of /proc that may be mounted over (what lxcfs-style tools do), as runc allows.
const PROC_MOUNT_ALLOWED = new Set([
  "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps",
  "/proc/uptime", "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
]);

/**
 * Nothing but procfs on /proc, and nothing inside it but the allowed files: a fake /proc (or
 * /proc/<pid>/attr) would fool whatever trusts it, LSM label writes first (CVE-2019-16884).
 * Checked on the path, and on the target's filesystem once resolved (a symlink into /proc).
 */
function checkProcTarget(sys: Sys, dest: string, type: string, field: string, targetFd?: number): void {
  if (type === "proc" || PROC_MOUNT_ALLOWED.has(dest)) return;
  const inProc = dest === "/proc" || dest.startsWith("/proc/") || (targetFd !== undefined && sys.fsType(targetFd) === PROC_SUPER_MAGIC);
  if (inProc) throw new BuncError("config", `${field}.destination: ${dest}: nothing but a proc filesystem may be mounted on or inside /proc`);
}

export function setupRootfs(sys: Sys, plan: RootfsPlan): void {
  if (plan.mountNamespace) {
    // Nothing we mount may propagate back to the host: make our copy of the host tree a
    // slave (or what rootfsPropagation asks) before touching anything…
    // An unbindable tree cannot be bind-mounted: that one is applied after the pivot only.
    const asked = plan.rootfsPropagation ? PROPAGATION_FLAGS[plan.rootfsPropagation]! : MS.SLAVE | MS.REC;
    const rootPropagation = asked & MS.UNBINDABLE ? MS.SLAVE | MS.REC : asked;
    sys.mount(null, "/", null, rootPropagation, null);
    // …and the mount holding the rootfs private, whatever the root's propagation: a bind
    // under a shared parent would show up on the host, and pivot_root refuses it. After a
    // recursive slave or private no mount is shared: no need to read the mount table.
    const noneShared = rootPropagation & MS.REC && rootPropagation & (MS.SLAVE | MS.PRIVATE);
    const parent = noneShared ? undefined : mountOf(plan.rootfs, readMountinfo());
    if (parent?.optional.some((o) => o.startsWith("shared:"))) sys.mount(null, parent.mountPoint, null, MS.PRIVATE, null);
    // pivot_root needs the new root to be a mount point.
    sys.mount(plan.rootfs, plan.rootfs, null, MS.BIND | MS.REC, null);
  } else if (plan.readonly) {
    throw new BuncError("config", "root.readonly: a read-only root needs a mount namespace");
  }
  const rootFd = sys.openat(AT_FDCWD, plan.rootfs, O.PATH | O.DIRECTORY | O.CLOEXEC);
  try {
    // A read-only tmpfs is mounted writable and turned read-only once everything that goes
    // into it is there (bind targets, devices in /dev, the cwd), as runc does.
    const readonlyTmpfs: string[] = [];
    const deferred = deferredCgroupMounts(plan);
    plan.mounts.forEach((m, i) => {
      if (!deferred.has(i)) mountOne(sys, rootFd, plan, m, i, readonlyTmpfs);
    });
    const devBound = plan.mounts.some((m) => clean(m.destination) === "/dev" && parseMountOptions(m.options, m.type).bind);
    if (!devBound) {
      [...DEFAULT_DEVICES, ...plan.devices].forEach((d, i) =>
        createDevice(sys, rootFd, d, i < DEFAULT_DEVICES.length ? `default device ${d.path}` : `linux.devices[${i - DEFAULT_DEVICES.length}]`, plan.userns),
      );
      const devFd = openDevDir(sys, rootFd);
      try {
        createDevSymlinks(sys, devFd, devSymlinks(pathExists("/proc/kcore")));
      } finally {
        sys.close(devFd);
      }
    }
    // Before the read-only paths: /proc/sys is usually one of them.
    writeSysctls(sys, rootFd, plan.sysctl);
    try {
      sys.close(mkdirAllInRoot(sys, rootFd, plan.cwd));
    } catch (err) {
      throw new BuncError("config", `process.cwd: cannot create ${plan.cwd} in the rootfs: ${messageOf(err)}`);
    }
    const pathRules = () => {
      plan.maskedPaths.forEach((p) => maskPath(sys, rootFd, p));
      plan.readonlyPaths.forEach((p) => readonlyPath(sys, rootFd, p));
    };
    // Masked and read-only paths that touch no deferred mount go first: they too overlap
    // the wait for the cgroup.
    const deferredDests = [...deferred].map((i) => clean(plan.mounts[i]!.destination));
    const rulesFirst = ![...plan.maskedPaths, ...plan.readonlyPaths].some((p) => deferredDests.some((d) => overlaps(clean(p), d)));
    if (rulesFirst) pathRules();
    deferred.forEach((i) => mountOne(sys, rootFd, plan, plan.mounts[i]!, i, readonlyTmpfs));
    readonlyTmpfs.forEach((dest) => makeMountReadonly(sys, rootFd, dest));
    if (!rulesFirst) pathRules();
  } finally {
    sys.close(rootFd);
  }
  plan.beforePivot?.();
  // Without a mount namespace the host's mount table is shared: no pivot, a plain chroot.
  if (!plan.mountNamespace) {
    sys.chroot(plan.rootfs);
    sys.chdir("/");
    return;
  }
  if (plan.noPivot) moveRoot(sys, plan.rootfs);
  else pivotRoot(sys, plan.rootfs);
  if (plan.readonly) {
    const root = sys.openat(AT_FDCWD, "/", O.PATH | O.DIRECTORY | O.CLOEXEC);
    try {
      sys.mountSetattr(root, "", EMPTY_PATH, BigInt(MOUNT_ATTR.RDONLY), 0n);
    } finally {
      sys.close(root);
    }
  }
  if (plan.rootfsPropagation) sys.mount(null, "/", null, PROPAGATION_FLAGS[plan.rootfsPropagation]!, null);
}

function pivotRoot(sys: Sys, rootfs: string): void {
  // pivot_root(".", ".") stacks the old root on top of the new one; unmounting "." then
  // drops the old root without needing a directory for it inside the rootfs.
  const oldRoot = sys.openat(AT_FDCWD, "/", O.PATH | O.DIRECTORY | O.CLOEXEC);
  const newRoot = sys.openat(AT_FDCWD, rootfs, O.PATH | O.DIRECTORY | O.CLOEXEC);
  try {
    sys.fchdir(newRoot, rootfs);
    sys.pivotRoot(".", ".");
    sys.fchdir(oldRoot, "old root");
    // The old root may be shared with the host: detach it as a slave so the unmount stays here.
    sys.mount(null, ".", null, MS.SLAVE | MS.REC, null);
    sys.umount(".", MNT_DETACH);
    sys.chdir("/");
  } finally {
    sys.close(oldRoot);
    sys.close(newRoot);
  }
}

function moveRoot(sys: Sys, rootfs: string): void {
  sys.chdir(rootfs);
  sys.mount(rootfs, "/", null, MS.MOVE, null);
  sys.chroot(".");
  sys.chdir("/");
}

function mountOne(sys: Sys, rootFd: number, plan: RootfsPlan, m: Mount, index: number, readonlyTmpfs: string[]): void {
  const field = `mounts[${index}]`;
  const dest = clean(m.destination);
  const opts = parseMountOptions(m.options, m.type);
  const type = m.type ?? (opts.bind ? "bind" : "");
  if (type === "tmpfs" && opts.flags & MS.RDONLY) {
    opts.flags &= ~MS.RDONLY;
    readonlyTmpfs.push(dest);
  }
  checkProcTarget(sys, dest, type, field);
  try {
    if (opts.bind) return bindMount(sys, rootFd, plan, m, dest, opts, field);
    // proc and sysfs must land on a real directory of the rootfs: a symlink there is a trap.
    const strict = type === "proc" || type === "sysfs";
    // runc gives a copied-up tmpfs the mode and owner of the directory it covers, if there was one.
    const covers = opts.copyUp && type === "tmpfs" && closeIfOpen(sys, tryOpenInRoot(sys, rootFd, dest, O.PATH | O.DIRECTORY));
    const destFd = strict ? openStrictDir(sys, rootFd, dest, field) : mkdirAllInRoot(sys, rootFd, dest);
    try {
      checkProcTarget(sys, dest, type, field, destFd);
      if (type === "cgroup") plan.beforeCgroupMount?.();
      if (type === "cgroup") mountCgroups(sys, rootFd, dest, destFd, opts.flags, plan.cgroupDirs);
      else if (opts.copyUp && type === "tmpfs") mountTmpfsCopyUp(sys, rootFd, m, dest, destFd, opts, covers);
      else sys.mount(m.source ?? type, fdPath(destFd), type, opts.flags, opts.data.join(",") || null);
    } finally {
      sys.close(destFd);
    }
    afterMount(sys, rootFd, dest, opts);
  } catch (err) {
    if (err instanceof BuncError && err.code === "config") throw err;
    throw new BuncError("system", `${field} (${type || "mount"} on ${dest}): ${(err as Error).message}`, (err as BuncError).errno);
  }
}

/** A tmpfs filled with what the directory under it held (runc's "tmpcopyup"). */
function mountTmpfsCopyUp(sys: Sys, rootFd: number, m: Mount, dest: string, destFd: number, opts: ReturnType<typeof parseMountOptions>, covers: boolean): void {
  const under = sys.openat(destFd, ".", O.RDONLY | O.DIRECTORY | O.CLOEXEC);
  try {
    const data = opts.data.join(",") || null;
    sys.mount(m.source ?? "tmpfs", fdPath(destFd), "tmpfs", opts.flags, data);
    const tmpfs = openInRoot(sys, rootFd, dest, O.RDONLY | O.DIRECTORY);
    try {
      // Loaded only here: it needs node:fs, which the init otherwise does without.
      (require("./tmpfs-copyup.ts") as typeof import("./tmpfs-copyup.ts")).copyUp(sys, under, tmpfs, covers);
    } finally {
      sys.close(tmpfs);
    }
  } finally {
    sys.close(under);
  }
}

function makeMountReadonly(sys: Sys, rootFd: number, dest: string): void {
  const fd = openInRoot(sys, rootFd, dest, O.PATH | O.DIRECTORY);
  try {
    sys.mountSetattr(fd, "", EMPTY_PATH, BigInt(MOUNT_ATTR.RDONLY), 0n);
  } finally {
    sys.close(fd);
  }
}

function closeIfOpen(sys: Sys, fd: number | undefined): boolean {
  if (fd === undefined) return false;
  sys.close(fd);
  return true;
}

function openStrictDir(sys: Sys, rootFd: number, dest: string, field: string): number {
  const parent = dest.split("/").slice(0, -1).join("/");
  sys.close(mkdirAllInRoot(sys, rootFd, parent));
  try {
    return sys.openat2(rootFd, dest.slice(1), O.PATH | O.DIRECTORY | O.CLOEXEC, 0, IN_ROOT | RESOLVE.NO_SYMLINKS);
  } catch (err) {
    if ((err as { errno?: number }).errno !== ENOENT) {
      throw new BuncError("config", `${field}.destination: ${dest} in the rootfs is not a plain directory`);
    }
    return mkdirAllInRoot(sys, rootFd, dest);
  }
}

function bindMount(sys: Sys, rootFd: number, plan: RootfsPlan, m: Mount, dest: string, opts: ReturnType<typeof parseMountOptions>, field: string): void {
  if (!m.source) throw new BuncError("config", `${field}.source: a bind mount needs a source`);
  const source = isAbsolutePath(m.source) ? m.source : joinPath(plan.bundle, m.source);
  let isDir: boolean;
  try {
    isDir = statPath(source).isDirectory;
  } catch {
    throw new BuncError("config", `${field}.source: ${source} does not exist`);
  }
  // A detached copy of the source tree gets its attributes before it is attached: there is
  // no moment where a read-only bind is writable. Plain options (ro, nosuid, …) apply to the
  // top mount only, as runc's remount does; rro, rnosuid, … are the recursive ones.
  const tree = sys.openTree(AT_FDCWD, source, OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC | (opts.recursive ? AT.RECURSIVE : 0));
  try {
    const attrs = attributesOf(opts.flags, opts.clear);
    if (attrs.set || attrs.clear) sys.mountSetattr(tree, "", EMPTY_PATH, attrs.set, attrs.clear);
    const destFd = isDir ? mkdirAllInRoot(sys, rootFd, dest) : ensureFileInRoot(sys, rootFd, dest);
    try {
      checkProcTarget(sys, dest, "bind", field, destFd);
      sys.moveMount(tree, destFd, dest);
    } finally {
      sys.close(destFd);
    }
  } finally {
    sys.close(tree);
  }
  afterMount(sys, rootFd, dest, opts);
}

/** Recursive attributes and propagation apply to the new mount, reached by a fresh lookup. */
function afterMount(sys: Sys, rootFd: number, dest: string, opts: ReturnType<typeof parseMountOptions>): void {
  if (!opts.propagation.length && !opts.recursiveSet && !opts.recursiveClear) return;
  const fd = openInRoot(sys, rootFd, dest, O.PATH);
  try {
    if (opts.recursiveSet || opts.recursiveClear) {
      sys.mountSetattr(fd, "", EMPTY_PATH | AT.RECURSIVE, opts.recursiveSet, opts.recursiveClear);
    }
    for (const flags of opts.propagation) sys.mount(null, fdPath(fd), null, flags, null);
  } finally {
    sys.close(fd);
  }
}

/** A masked directory gets an empty read-only tmpfs; anything else gets /dev/null bound on it.
 *  A symlink is followed inside the rootfs, as runc does: what it names is masked. */
function maskPath(sys: Sys, rootFd: number, path: string): void {
  const fd = tryOpenInRoot(sys, rootFd, path, O.PATH);
  if (fd === undefined) return;
  try {
    if (sys.fstat(fd).isDirectory) {
      sys.mount("tmpfs", fdPath(fd), "tmpfs", MS.RDONLY, null);
      return;
    }
    const devNull = openInRoot(sys, rootFd, "/dev/null", O.PATH | O.NOFOLLOW);
    try {
      const st = sys.fstat(devNull);
      // Only the real null device may be bound over a masked file (CVE-2025-31133).
      if ((st.mode & 0o170000) !== 0o020000 || st.rdev !== 259) {
        throw new BuncError("system", `maskedPaths: the rootfs /dev/null is not the null device`);
      }
      sys.mount(fdPath(devNull), fdPath(fd), null, MS.BIND, null);
    } finally {
      sys.close(devNull);
    }
  } finally {
    sys.close(fd);
  }
}

function readonlyPath(sys: Sys, rootFd: number, path: string): void {
  const fd = tryOpenInRoot(sys, rootFd, path, O.PATH);
  if (fd === undefined) return;
  try {
    const tree = sys.openTree(fd, "", OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC | AT.RECURSIVE | EMPTY_PATH);
    try {
      sys.mountSetattr(tree, "", EMPTY_PATH | AT.RECURSIVE, BigInt(MOUNT_ATTR.RDONLY), 0n);
      sys.moveMount(tree, fd, path);
    } finally {
      sys.close(tree);
    }
  } finally {
    sys.close(fd);
  }
}
