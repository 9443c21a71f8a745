// One container's cgroup on this host, whatever its layout. On v1 (and hybrid) it is a
// directory per hierarchy; on v2 a single directory. Only directories bunc made itself are
// ever removed. The record of it (CgroupRecord) is kept in the container's state.
import { EEXIST, ENOENT, errnoName } from "../../../ffi/errors.ts";
import { mkdirPath, pathExists, readTextFile, removePath, writeTextFile } from "../../../ffi/files.ts";
import { BuncError } from "../../errors.ts";
import { joinPath as join } from "../posix-path.ts";
import { cgroupPath, ownCgroups } from "./cgroups-path.ts";
import type { CgroupHost } from "./detect.ts";
import { writeCgroupFile, type CgroupWrite } from "./writes.ts";

export interface CgroupRecord {
  version: "v1" | "v2";
  /** The container's cgroup, relative to each hierarchy's root. */
  path: string;
  /** v1 controller (or "unified") → absolute directory. v2: { unified: dir }. */
  dirs: Record<string, string>;
  /** Directories bunc created, parents first: delete removes these and only these… */
  created: string[];
  /** …and, when empty, the default parents (`/bunc`) that all containers without a
   * cgroupsPath share, whichever of them made it. */
  shared?: string[];
  /** v2: where controllers are enabled from (a rootless container's delegation root); default the hierarchy's root. */
  enableFrom?: string;
}

const UNIFIED = "unified";

const errnoOf = (err: unknown) => (err as { errno?: number }).errno;

/** Plan the container's cgroup dirs (nothing is made yet). */
export function planCgroup(host: CgroupHost, cgroupsPath: string | undefined, id: string): CgroupRecord {
  const own = ownCgroups();
  const dirs: Record<string, string> = {};
  let path = "";
  if (host.mode === "v2") {
    path = cgroupPath(cgroupsPath, id, own.get("") ?? "/");
    dirs[UNIFIED] = join(host.unified!, path);
    return { version: "v2", path, dirs, created: [], shared: sharedParents(cgroupsPath, dirs) };
  }
  for (const [controller, mountPoint] of host.v1) {
    path = cgroupPath(cgroupsPath, id, own.get(controller) ?? "/");
    dirs[controller] = join(mountPoint, path);
  }
  // The hybrid cgroup2 tree: the container is placed there too (hugetlb lives there here).
  if (host.unified) dirs[UNIFIED] = join(host.unified, cgroupPath(cgroupsPath, id, own.get("") ?? "/"));
  return { version: "v1", path, dirs, created: [], shared: sharedParents(cgroupsPath, dirs) };
}

const sharedParents = (cgroupsPath: string | undefined, dirs: Record<string, string>) =>
  cgroupsPath ? [] : [...new Set(Object.values(dirs).map((d) => join(d, "..")))];

/** Make every missing directory, noting which ones bunc made. */
export function createCgroup(record: CgroupRecord): void {
  for (const [controller, dir] of Object.entries(record.dirs)) {
    makeChain(record, dir);
    // A new v1 cpuset starts with no cpus and no mems, and takes no process. Fill every
    // empty one from the top down, not only ours: a parent another create has just made
    // may still be empty.
    if (controller === "cpuset" && record.version === "v1") fillCpusets(dir);
  }
}

/**
 * mkdir `dir` and its missing parents. A shared parent (the default /bunc) is removed by the
 * delete of its last container: when it vanishes between our check and our mkdir (ENOENT),
 * the chain is made again.
 */
function makeChain(record: CgroupRecord, dir: string): void {
  for (let attempt = 1; ; attempt++) {
    const missing: string[] = [];
    for (let d = dir; !pathExists(d); d = join(d, "..")) missing.unshift(d);
    try {
      for (const d of missing) {
        try {
          mkdirPath(d, 0o755);
          record.created.push(d);
        } catch (err) {
          if (errnoOf(err) !== EEXIST) throw err;
        }
      }
      return;
    } catch (err) {
      if (errnoOf(err) === ENOENT && attempt < 5) continue;
      throw new BuncError("system", `cannot create cgroup ${dir}: ${(err as Error).message}`);
    }
  }
}

function fillCpusets(dir: string): void {
  const chain: string[] = [];
  for (let d = dir; pathExists(join(d, "..", "cpuset.cpus")); d = join(d, "..")) chain.unshift(d);
  for (const d of chain) {
    for (const file of ["cpuset.cpus", "cpuset.mems"]) {
      if (readTextFile(join(d, file)).trim() !== "") continue;
      writeCgroupFile(d, file, readTextFile(join(d, "..", file)).trim());
    }
  }
}

/** v2: controllers are enabled top-down, from the root's child to the container's parent. */
export function enableControllers(root: string, dir: string, controllers: string[]): void {
  if (!controllers.length) return;
  const parts = dir.slice(root.length).split("/").filter(Boolean);
  let current = root;
  for (const part of parts) {
    const available = readTextFile(join(current, "cgroup.controllers")).trim().split(/\s+/);
    const wanted = controllers.filter((c) => available.includes(c));
    if (wanted.length) writeCgroupFile(current, "cgroup.subtree_control", wanted.map((c) => `+${c}`).join(" "));
    current = join(current, part);
  }
}

export function applyWrites(record: CgroupRecord, writes: CgroupWrite[]): void {
  for (const w of writes) {
    const dir = record.version === "v2" ? record.dirs[UNIFIED] : (record.dirs[w.controller] ?? (w.controller === "hugetlb" ? record.dirs[UNIFIED] : undefined));
    if (!dir) throw new BuncError("unsupported", `${w.file}: the ${w.controller} controller is not available on this host`);
    writeCgroupFile(dir, w.file, w.value);
  }
}

/**
 * Put `pid` in every hierarchy of the container's cgroup. The first migration of a while
 * waits for an RCU grace period (~10–20 ms here): `create` starts one early on a glibc AIO
 * thread (migration-warmup.ts), after which each write takes ~50 µs.
 */
export function addProcess(record: CgroupRecord, pid: number): void {
  for (const dir of new Set(Object.values(record.dirs))) {
    try {
      writeTextFile(join(dir, "cgroup.procs"), String(pid));
    } catch (err) {
      const errno = errnoOf(err);
      throw new BuncError("system", `cgroup.procs: ${pid}: ${errno === undefined ? (err as Error).message : errnoName(errno)} (in ${dir})`);
    }
  }
}

export function cgroupPids(record: CgroupRecord): number[] {
  const dir = record.version === "v2" ? record.dirs[UNIFIED] : (record.dirs.pids ?? record.dirs.freezer ?? record.dirs.memory ?? Object.values(record.dirs)[0]);
  if (!dir) return [];
  try {
    return readTextFile(join(dir, "cgroup.procs")).split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** SIGKILL every process of the cgroup through cgroup.kill (cgroup v2, Linux ≥ 5.14). */
export function killCgroup(record: CgroupRecord): boolean {
  const dir = record.dirs[UNIFIED];
  if (!dir || !pathExists(join(dir, "cgroup.kill"))) return false;
  writeCgroupFile(dir, "cgroup.kill", "1");
  return true;
}

/**
 * Remove the directories bunc created, deepest first. A cgroup still holding processes
 * (EBUSY) is retried for up to `timeoutMs`: its last processes may be exiting.
 */
export function destroyCgroup(record: CgroupRecord, timeoutMs = 2000): void {
  const deadline = Date.now() + timeoutMs;
  const own = new Set(Object.values(record.dirs));
  for (const dir of [...record.created].reverse()) {
    for (;;) {
      try {
        removePath(dir, true);
        break;
      } catch (err) {
        const errno = errnoOf(err);
        const code = errno === undefined ? (err as Error).message : errnoName(errno);
        if (code === "ENOENT") break;
        // A parent such as /bunc may hold other containers' cgroups: leave it to the last one.
        if (!own.has(dir) && (code === "EBUSY" || code === "ENOTEMPTY")) break;
        if (code !== "EBUSY" || Date.now() > deadline) throw new BuncError("system", `cannot remove cgroup ${dir}: ${code}`);
        Bun.sleepSync(2);
      }
    }
  }
  for (const dir of record.shared ?? []) {
    try {
      removePath(dir, true);
    } catch {
      // Another container's cgroup is still in it.
    }
  }
}
