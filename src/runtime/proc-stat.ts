// Facts about a process read from /proc/<pid>/stat: its state letter and its start time
// (clock ticks since boot). A pid plus its start time names one process for ever; a pid
// alone may be reused after a crash.
import { readTextFile } from "../../ffi/files.ts";

export interface ProcStat {
  state: string;
  startTime: string;
  ppid: number;
}

export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readTextFile(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': split after the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); field 4 is ppid; field 22 is starttime.
  return { state: rest[0]!, ppid: Number(rest[1]), startTime: rest[19]! };
}

/** True when `pid` is the same live process that was recorded, not a zombie nor a reused pid. */
export function isAlive(pid: number, startTime: string): boolean {
  if (pid <= 0) return false;
  const stat = readProcStat(pid);
  if (!stat) return false;
  if (stat.state === "Z" || stat.state === "X" || stat.state === "x") return false;
  return stat.startTime === startTime;
}
