// Moving a process between cgroups takes a kernel-wide lock whose first writer in a while
// waits for an RCU grace period (~10–20 ms here), holding the cgroup mutex meanwhile; writers
// within a grace period after it pass in ~50 µs. `create` and `run` start one harmless
// migration (this CLI "moves" into the cgroup it is already in) as soon as bunc starts, on
// a glibc AIO thread: the wait then overlaps the start of the init instead of delaying the
// container's cgroup.
import { O } from "../../../ffi/constants.ts";
import { writeInBackground, type BackgroundWrite } from "../../../ffi/background-write.ts";
import { closeFd, openRaw } from "../../../ffi/io.ts";
import { joinPath } from "../posix-path.ts";
import { ownCgroups } from "./cgroups-path.ts";
import { detectCgroups, type CgroupHost } from "./detect.ts";

let warmUp: { fd: number; write: BackgroundWrite } | null | undefined;

/** Start the warm-up once; it is only a head start, so any failure just skips it. */
export function warmUpMigration(host?: CgroupHost): void {
  if (warmUp !== undefined) return;
  warmUp = null;
  try {
    const cgroups = host ?? detectCgroups();
    const hierarchy = cgroups.v1.has("pids") ? "pids" : cgroups.v1.has("memory") ? "memory" : "";
    const mount = hierarchy ? cgroups.v1.get(hierarchy) : cgroups.unified;
    const own = ownCgroups().get(hierarchy);
    if (!mount || own === undefined) return;
    const fd = openRaw(joinPath(mount, own, "cgroup.procs"), O.WRONLY);
    try {
      warmUp = { fd, write: writeInBackground(fd, String(process.pid)) };
    } catch {
      closeFd(fd);
    }
  } catch {}
}

/** Close the warm-up's file if its write is over (it is, once the init has been placed). */
export function endWarmUp(): void {
  if (!warmUp || warmUp.write.result() === null) return;
  closeFd(warmUp.fd);
  warmUp = null;
}
