// A container's status is derived from facts, never stored: the init process alive (same
// pid and start time as at create, not a zombie) and exec.fifo present (start not yet run).
// A crash therefore never leaves a stale status behind.
import { pathExists } from "../../ffi/files.ts";
import { joinPath as join } from "../linux/posix-path.ts";
import { isFrozen } from "../linux/cgroups/freezer.ts";
import { isAlive } from "./proc-stat.ts";
import { EXEC_FIFO, type ContainerRecord } from "./state-store.ts";

export type Status = "creating" | "created" | "running" | "paused" | "stopped";

export interface StatusFacts {
  alive: boolean;
  fifoPresent: boolean;
  frozen: boolean;
}

export function statusFrom(facts: StatusFacts): Status {
  if (!facts.alive) return "stopped";
  if (facts.fifoPresent) return "created";
  return facts.frozen ? "paused" : "running";
}

export function factsOf(record: ContainerRecord, stateDir: string): StatusFacts {
  const alive = isAlive(record.pid, record.pidStartTime);
  return {
    alive,
    fifoPresent: pathExists(join(stateDir, EXEC_FIFO)),
    frozen: alive && record.cgroup !== undefined && isFrozen(record.cgroup),
  };
}

export const canStart = (s: Status) => s === "created";
export const canPause = (s: Status) => s === "running";
export const canResume = (s: Status) => s === "paused";
export const canKill = (s: Status) => s === "created" || s === "running" || s === "paused";
export const canDelete = (s: Status) => s === "stopped";
