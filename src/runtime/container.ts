// A container as the commands see it: its record, its state dir and its derived status.
import { readdirSync, readlinkSync } from "node:fs";
import { BuncError } from "../errors.ts";
import { isAlive, readProcStat } from "./proc-stat.ts";
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

export const pidNamespaceOf = (pid: number): string | undefined => {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
};

/** Every live process in the container's own pid namespace, the init first. */
export function containerPids(c: Container): number[] {
  const pids = [c.record.pid];
  const ns = c.record.pidNamespace;
  if (!ns || c.record.sharedPidNamespace) return pids;
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === c.record.pid) continue;
    if (pidNamespaceOf(pid) === ns) pids.push(pid);
  }
  return pids;
}

export function signalContainer(c: Container, signal: number, all: boolean): void {
  const pids = all ? containerPids(c) : [c.record.pid];
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

export { readProcStat };
