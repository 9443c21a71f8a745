// How many times the kernel's OOM killer struck in a container's cgroup: `create` asks after
// a failed setup, `events` polls it. Kept apart from stats.ts so `create` loads only this.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { CgroupRecord } from "./cgroup.ts";

export function oomKillCount(record: CgroupRecord): bigint | undefined {
  const [dir, file] = record.version === "v2" ? [record.dirs.unified, "memory.events"] : [record.dirs.memory, "memory.oom_control"];
  if (!dir) return undefined;
  try {
    const line = readFileSync(join(dir, file), "utf8").split("\n").find((l) => l.startsWith("oom_kill "));
    return line === undefined ? undefined : BigInt(line.slice("oom_kill ".length).trim());
  } catch {
    return undefined;
  }
}
