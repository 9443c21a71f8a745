// A container as the commands see it: its record, its state dir and its derived status.
import { readlinkPath } from "../../ffi/files.ts";
import { BuncError } from "../errors.ts";
import { nodeFs } from "../node-fs.ts";
import { cgroupPids, killCgroup } from "../linux/cgroups/cgroup.ts";
import { isAlive } from "./proc-stat.ts";
import { factsOf, statusFrom, type Status } from "./status.ts";
import type { ContainerRecord, StateStore } from "./state-store.ts";

export interface Container {
  record: ContainerRecord;
  dir: string;
  status: Status;
}

export function loadContainer(store: StateStore, id: string): Container {
  const record = store.read(id);
  const dir = store.dir(id);
  return { record, dir, status: statusFrom(factsOf(record, dir)) };
}

/** The OCI state document (runtime.md), with runc's extra fields. */
export function stateDocument(c: Container) {
  return {
    ociVersion: c.record.config.ociVersion,
    id: c.record.id,
    status: c.status,
    pid: c.status === "stopped" ? 0 : c.record.pid,
    bundle: c.record.bundle,
    rootfs: c.record.rootfs,
    created: c.record.created,
    owner: c.record.owner,
    annotations: c.record.config.annotations ?? {},
  };
}

export const namespaceOf = (pid: number, kind: "pid" | "mnt"): string | undefined => {
  try {
    return readlinkPath(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
};

/**
 * Every live process of the container. With its own pid namespace that is the namespace's
 * members; sharing the host's, those of its own mount namespace; else just the init.
 */
export function containerPids(c: Container): number[] {
  // The cgroup knows them all, whatever the namespaces.
  if (c.record.cgroup) return cgroupPids(c.record.cgroup).filter((pid) => pid !== process.pid);
  const initAlive = isAlive(c.record.pid, c.record.pidStartTime);
  const own = c.record.sharedPidNamespace
    ? c.record.mountNamespace && { kind: "mnt" as const, ns: c.record.mountNamespace }
    : c.record.pidNamespace && { kind: "pid" as const, ns: c.record.pidNamespace };
  const pids = initAlive ? [c.record.pid] : [];
  if (!own) return pids;
  for (const name of nodeFs().readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === c.record.pid || pid === process.pid) continue;
    if (namespaceOf(pid, own.kind) === own.ns) pids.push(pid);
  }
  return pids;
}

export function signalContainer(c: Container, signal: number, all: boolean): void {
  // cgroup v2's cgroup.kill takes the whole cgroup at once: no process forks past it.
  if (all && signal === 9 && c.record.cgroup && killCgroup(c.record.cgroup)) return;
  const pids = all ? containerPids(c) : [c.record.pid];
  if (!pids.length) return;
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      // ESRCH: it exited meanwhile, which is what a kill wants anyway.
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw new BuncError("system", `kill ${pid}: ${(err as Error).message}`);
    }
  }
}

/** Wait until the init is gone (dead or a zombie), at most `timeoutMs`. */
export function waitGone(c: Container, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(c.record.pid, c.record.pidStartTime)) {
    if (Date.now() > deadline) return false;
    Bun.sleepSync(2);
  }
  return true;
}

