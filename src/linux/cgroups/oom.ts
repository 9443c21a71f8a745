// How many times the kernel's OOM killer struck in a container's cgroup: `create` asks after
// a failed setup, `events` polls it. Kept apart from stats.ts so `create` loads only this.
import { readTextFile } from "../../../ffi/files.ts";
import { joinPath as join } from "../posix-path.ts";
import type { CgroupRecord } from "./cgroup.ts";

export function oomKillCount(record: CgroupRecord): bigint | undefined {
  const [dir, file] = record.version === "v2" ? [record.dirs.unified, "memory.events"] : [record.dirs.memory, "memory.oom_control"];
  if (!dir) return undefined;
  try {
    const line = readTextFile(join(dir, file)).split("\n").find((l) => l.startsWith("oom_kill "));
    return line === undefined ? undefined : BigInt(line.slice("oom_kill ".length).trim());
  } catch {
    return undefined;
  }
}
