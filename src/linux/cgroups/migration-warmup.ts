// Moving a process between v1 cgroups takes a kernel-wide lock whose first writer waits for
// an RCU grace period (~10–20 ms here); writers right after it pass quickly. `create`
// starts one harmless migration early (this CLI "moves" into the cgroup it is already in)
// on a pool thread, so the wait overlaps the init's start-up instead of following it.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ownCgroups } from "./cgroups-path.ts";
import { detectCgroups, type CgroupHost } from "./detect.ts";

let pending: Promise<void> | undefined;

/** Start the warm-up once; later calls return the same wait. */
export function warmUpMigration(host: CgroupHost = detectCgroups()): Promise<void> {
  pending ??= startWarmUp(host);
  return pending;
}

function startWarmUp(host: CgroupHost): Promise<void> {
  const pids = host.v1.get("pids") ?? host.v1.get("memory") ?? host.unified;
  const own = ownCgroups().get(host.v1.has("pids") ? "pids" : host.v1.has("memory") ? "memory" : "");
  if (!pids || own === undefined) return Promise.resolve();
  return writeFile(join(pids, own, "cgroup.procs"), String(process.pid)).catch(() => {});
}
