// cgroup helpers for the runtime tests, read from the host's own mount table and /proc (not
// from bunc's code): where each hierarchy is mounted, which cgroup a process is in, where a
// cgroupsPath lands, and a safety net that removes what a failed test left behind.
//
//   const where = expectedCgroup(`/bunc/${id}`);          // hierarchy key → cgroup path
//   expect(procCgroups(pid)).toEqual(where);
//   expect(cgroupsLeft([id])).toEqual([]);
//
// Hierarchy keys are those of /proc/<pid>/cgroup: a v1 controller ("memory", "cpu"),
// "name=systemd" for a named hierarchy, and "unified" for the cgroup2 line ("0::").
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";
import { cgroupsNamed } from "./bunc.ts";

export const UNIFIED = "unified";

export interface CgroupMount {
  /** Where the hierarchy is mounted. */
  mountPoint: string;
  /** Its keys: each v1 controller (or name=…) it carries, or ["unified"] for cgroup2. */
  keys: string[];
  v2: boolean;
}

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

let controllers: Set<string> | undefined;
/** Controller names the kernel has (/proc/cgroups). */
function knownControllers(): Set<string> {
  controllers ??= new Set(
    readFileSync("/proc/cgroups", "utf8")
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => l.split("\t")[0]!),
  );
  return controllers;
}

/** The cgroup hierarchies mounted in this process's mount namespace, one entry each. */
export function cgroupMounts(): CgroupMount[] {
  const seen = new Set<string>();
  const out: CgroupMount[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const f = line.split(" ");
    const dash = f.indexOf("-");
    if (dash < 0) continue;
    const fstype = f[dash + 1];
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const mountPoint = unescape(f[4]!);
    if (fstype === "cgroup2") {
      if (seen.has(UNIFIED)) continue;
      seen.add(UNIFIED);
      out.push({ mountPoint, keys: [UNIFIED], v2: true });
      continue;
    }
    // the super options: controllers (as /proc/cgroups names them) and name=…, among flags
    const keys = (f[dash + 3] ?? "").split(",").filter((o) => o.startsWith("name=") || knownControllers().has(o));
    if (keys.some((k) => seen.has(k))) continue; // the same hierarchy mounted twice
    keys.forEach((k) => seen.add(k));
    out.push({ mountPoint, keys, v2: false });
  }
  return out;
}

/** Hierarchy key → mount point. */
export function mountPointOf(): Map<string, string> {
  const m = new Map<string, string>();
  for (const h of cgroupMounts()) for (const k of h.keys) m.set(k, h.mountPoint);
  return m;
}

/** v1 controllers (not named hierarchies) this host has. */
export function v1Controllers(): string[] {
  return cgroupMounts()
    .filter((h) => !h.v2)
    .flatMap((h) => h.keys)
    .filter((k) => !k.startsWith("name="));
}

/** True when the host mounts v1 controllers (v1 or hybrid). */
export const hasV1 = () => v1Controllers().length > 0;

/** /proc/<pid>/cgroup as hierarchy key → path. Each controller of a co-mounted hierarchy
 *  gets its own key. */
export function procCgroups(pid: number | "self"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === "") out[UNIFIED] = m[2]!;
    else for (const k of m[1]!.split(",")) out[k] = m[2]!;
  }
  return out;
}

/** The cgroup (per hierarchy key) a container with `cgroupsPath` lands in: an absolute path
 *  as is, a relative one under this process's own cgroup in each hierarchy. Only the
 *  hierarchies that are mounted here are listed. */
export function expectedCgroup(cgroupsPath: string): Record<string, string> {
  const own = procCgroups("self");
  const out: Record<string, string> = {};
  for (const key of mountPointOf().keys()) {
    out[key] = cgroupsPath.startsWith("/") ? cgroupsPath : posix.join(own[key] ?? "/", cgroupsPath);
  }
  return out;
}

/** Absolute directories of a cgroup, per hierarchy key. */
export function cgroupDirs(where: Record<string, string>): Record<string, string> {
  const mounts = mountPointOf();
  return Object.fromEntries(Object.entries(where).map(([k, p]) => [k, join(mounts.get(k)!, p)]));
}

/** Those of `dirs` that exist. */
export function existingDirs(dirs: Iterable<string>): string[] {
  return [...new Set(dirs)].filter((d) => existsSync(d));
}

/** Reads a cgroup file (trimmed). */
export const cgroupFile = (dir: string, file: string) => readFileSync(join(dir, file), "utf8").trim();

/** Host pids listed in a cgroup dir's cgroup.procs ([] when it is gone). */
export function cgroupProcs(dir: string): number[] {
  try {
    return readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** cgroup dirs left anywhere under /sys/fs/cgroup for `names` (ids or path components) plus
 *  the exact `dirs` given, whichever still exist. */
export function cgroupsLeft(names: string[], dirs: string[] = []): string[] {
  return [...new Set([...cgroupsNamed(names), ...existingDirs(dirs)])].sort();
}

/** Removes a cgroup dir and everything below it, deepest first: thaws it, SIGKILLs its
 *  processes and waits for them. Only for what a failed test left behind. */
export function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  let children: string[] = [];
  try {
    children = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name));
  } catch {}
  for (const c of children) removeCgroupTree(c);
  for (const [file, value] of [
    ["freezer.state", "THAWED"],
    ["cgroup.freeze", "0"],
  ] as const) {
    try {
      if (existsSync(join(dir, file))) writeFileSync(join(dir, file), value);
    } catch {}
  }
  const deadline = Date.now() + 5_000;
  for (;;) {
    for (const pid of cgroupProcs(dir)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      if (Date.now() > deadline) throw new Error(`cannot remove cgroup ${dir}: ${code}`);
      Bun.sleepSync(10);
    }
  }
}
