// A container's status is derived from facts, never stored: the init process alive (same
// pid and start time as at create, not a zombie) and exec.fifo present (start not yet run).
// A crash therefore never leaves a stale status behind.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { isAlive } from "./proc-stat.ts";
import { EXEC_FIFO, type ContainerRecord } from "./state-store.ts";

export type Status = "creating" | "created" | "running" | "paused" | "stopped";

export interface StatusFacts {
  alive: boolean;
  fifoPresent: boolean;
}

export function statusFrom(facts: StatusFacts): Status {
  if (!facts.alive) return "stopped";
  return facts.fifoPresent ? "created" : "running";
}

export function factsOf(record: ContainerRecord, stateDir: string): StatusFacts {
  return {
    alive: isAlive(record.pid, record.pidStartTime),
    fifoPresent: existsSync(join(stateDir, EXEC_FIFO)),
  };
}

export const canStart = (s: Status) => s === "created";
export const canKill = (s: Status) => s === "created" || s === "running" || s === "paused";
export const canDelete = (s: Status) => s === "stopped";
