// Pausing a container's processes: the v1 freezer (freezer.state FROZEN/THAWED) or v2's
// cgroup.freeze. Freezing is asynchronous: wait until the kernel reports it done.
import { readTextFile } from "../../../ffi/files.ts";
import { joinPath as join } from "../posix-path.ts";
import { BuncError } from "../../errors.ts";
import type { CgroupRecord } from "./cgroup.ts";
import { writeCgroupFile } from "./writes.ts";

function freezerDir(record: CgroupRecord): { dir: string; v2: boolean } {
  if (record.version === "v1" && record.dirs.freezer) return { dir: record.dirs.freezer, v2: false };
  if (record.dirs.unified && record.version === "v2") return { dir: record.dirs.unified, v2: true };
  // Hybrid without a v1 freezer: cgroup2's freeze works there too.
  if (record.dirs.unified) return { dir: record.dirs.unified, v2: true };
  throw new BuncError("unsupported", "this host has no cgroup freezer");
}

export function isFrozen(record: CgroupRecord): boolean {
  try {
    const { dir, v2 } = freezerDir(record);
    if (v2) return /^frozen 1$/m.test(readTextFile(join(dir, "cgroup.events")));
    return readTextFile(join(dir, "freezer.state")).trim() === "FROZEN";
  } catch {
    return false;
  }
}

export function setFrozen(record: CgroupRecord, frozen: boolean, timeoutMs = 5000): void {
  const { dir, v2 } = freezerDir(record);
  if (v2) writeCgroupFile(dir, "cgroup.freeze", frozen ? "1" : "0");
  else writeCgroupFile(dir, "freezer.state", frozen ? "FROZEN" : "THAWED");
  const deadline = Date.now() + timeoutMs;
  while (isFrozen(record) !== frozen) {
    if (Date.now() > deadline) throw new BuncError("system", `timed out ${frozen ? "freezing" : "thawing"} cgroup ${dir}`);
    // v1 may stall in FREEZING while a task is busy: asking again nudges it on.
    if (!v2 && frozen) writeCgroupFile(dir, "freezer.state", "FROZEN");
    Bun.sleepSync(1);
  }
}
