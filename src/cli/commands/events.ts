// `events [--stats] [--interval DURATION] ID`: the container's resource usage and OOM kills,
// one JSON object a line, as runc prints them:
//   {"type":"stats","id":ID,"data":{...}}   every --interval (default 5s), or once with --stats
//   {"type":"oom","id":ID}                   each time the OOM killer kills one of its processes
// The stream ends (exit 0) when the container stops, or on SIGINT/SIGTERM.
//
// OOM kills are noticed by polling the kernel's counter every 100 ms, whatever the stats
// interval: v1's memory.oom_control "oom_kill", v2's memory.events "oom_kill". (runc waits on
// an eventfd registered through cgroup.event_control on v1 and on inotify on v2; polling
// needs no more system call bindings and is quick enough for an event that ends a process.)
import { boolOption, stringOption } from "../args.ts";
import { BuncError } from "../../errors.ts";
import { oomKillCount, readStats, toJson } from "../../linux/cgroups/stats.ts";
import { loadContainer } from "../../runtime/container.ts";
import { isAlive } from "../../runtime/proc-stat.ts";
import { print, type CommandContext } from "./context.ts";

const OOM_POLL_MS = 100;

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "\u00b5s": 1e3, // micro sign
  "\u03bcs": 1e3, // Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * A Go duration ("300ms", "1.5h", "2h45m", "-5s", "0") in milliseconds. Every number needs
 * a unit, except a lone 0.
 */
export function parseDuration(text: string): number {
  const bad = () => new BuncError("usage", `invalid value for --interval: ${JSON.stringify(text)}: not a duration such as 5s, 100ms or 1m30s`);
  let s = text;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw bad();
  let ns = 0;
  const part = /^(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/;
  while (s.length) {
    const m = part.exec(s);
    if (!m) throw bad();
    ns += Number(m[1]) * UNIT_NS[m[2]!]!;
    s = s.slice(m[0].length);
  }
  return (sign * ns) / 1e6;
}

export async function events(ctx: CommandContext): Promise<number> {
  const id = ctx.positionals[0]!;
  const intervalMs = parseDuration(stringOption(ctx.options, "interval") ?? "5s");
  if (!(intervalMs > 0)) throw new BuncError("usage", "--interval: the duration must be greater than 0");
  const c = loadContainer(ctx.store, id);
  if (c.status === "stopped") throw new BuncError("state", `container "${id}" is not running`);
  const cgroup = c.record.cgroup;
  if (!cgroup) throw new BuncError("state", `container "${id}" has no cgroup: no events to report`);
  const emit = (type: "stats" | "oom", data?: unknown) => print(toJson({ type, id, data }));

  if (boolOption(ctx.options, "stats")) {
    emit("stats", readStats(cgroup));
    return 0;
  }

  const { pid, pidStartTime } = c.record;
  let stopping = false;
  let wake: (() => void) | undefined;
  const onSignal = () => {
    stopping = true;
    wake?.();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    let kills = oomKillCount(cgroup) ?? 0n;
    let nextStats = Date.now() + intervalMs;
    while (!stopping) {
      // Liveness first, the counter second: a kill that ended the container is still told.
      const gone = !isAlive(pid, pidStartTime);
      const count = oomKillCount(cgroup);
      if (count !== undefined) {
        for (let k = kills; k < count; k++) emit("oom");
        kills = count;
      }
      if (gone) break;
      const now = Date.now();
      if (now >= nextStats) {
        emit("stats", readStats(cgroup));
        // Ticks missed while busy are dropped, not caught up with.
        nextStats = Math.max(nextStats + intervalMs, now + 1);
      }
      const delay = Math.min(OOM_POLL_MS, Math.max(0, nextStats - Date.now()));
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, delay);
      });
      wake = undefined;
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  return 0;
}
