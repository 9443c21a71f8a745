// Moving a process between cgroups takes a kernel-wide lock whose first writer in a while
// waits for an RCU grace period (10–28 ms here, longer under load), holding the cgroup
// mutex; writers within a grace period after it pass in ~50 µs. `create` and `run` start
// one harmless migration (this CLI "moves" into the cgroup it is already in) as soon as
// bunc starts, on a glibc AIO thread: the wait then overlaps the start of the init instead
// of delaying the container's cgroup.
import { O } from "../../../ffi/constants.ts";
import { writeInBackground, type BackgroundWrite } from "../../../ffi/background-write.ts";
import { closeFd, openRaw } from "../../../ffi/io.ts";
import { linuxSys } from "../../../ffi/sys.ts";
import { joinPath } from "../posix-path.ts";
import { ownCgroups } from "./cgroups-path.ts";
import { detectCgroups } from "./detect.ts";

const CGROUP2_SUPER_MAGIC = 0x63677270;

let warmUp: { fd: number; write: BackgroundWrite } | null | undefined;

/** Start the warm-up once; it is only a head start, so any failure just skips it. */
export function warmUpMigration(): void {
  if (warmUp !== undefined) return;
  warmUp = null;
  try {
    const fd = ownProcsFile();
    if (fd === undefined) return;
    try {
      warmUp = { fd, write: writeInBackground(fd, String(process.pid)) };
    } catch {
      closeFd(fd);
    }
  } catch {}
}

/**
 * Our own cgroup.procs, opened for writing. There is one cgroup2 hierarchy: at its usual
 * mount points a cgroup2 filesystem is it, and /proc/self/cgroup's "0::" line is our place in
 * it; that spares reading the mount table first. A host without cgroup2 reads the table.
 */
function ownProcsFile(): number | undefined {
  const own = ownCgroups();
  const v2 = own.get("");
  if (v2 !== undefined) {
    for (const mount of ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]) {
      let fd: number;
      try {
        fd = openRaw(joinPath(mount, v2, "cgroup.procs"), O.WRONLY);
      } catch {
        continue;
      }
      if (linuxSys.fsType(fd) === CGROUP2_SUPER_MAGIC) return fd;
      closeFd(fd);
    }
  }
  const host = detectCgroups();
  const hierarchy = host.v1.has("pids") ? "pids" : host.v1.has("memory") ? "memory" : "";
  const mount = hierarchy ? host.v1.get(hierarchy) : host.unified;
  const path = own.get(hierarchy);
  if (!mount || path === undefined) return undefined;
  return openRaw(joinPath(mount, path, "cgroup.procs"), O.WRONLY);
}

/** Close the warm-up's file if its write is over (it is, once the init has been placed). */
export function endWarmUp(): void {
  if (!warmUp || warmUp.write.result() === null) return;
  closeFd(warmUp.fd);
  warmUp = null;
}
