// A resource setting as the cgroup file it ends up in. The translations from
// linux.resources (v1-writes.ts, v2-writes.ts) produce lists of these, so they are tested
// without a cgroupfs, and a refused write is reported with its file and value.
import { errnoName, ENOENT, EINVAL } from "../../../ffi/errors.ts";
import { writeTextFile } from "../../../ffi/files.ts";
import { BuncError } from "../../errors.ts";
import { joinPath } from "../posix-path.ts";

export interface CgroupWrite {
  /** v1: the controller whose hierarchy holds `file`; v2: the controller to enable for it. */
  controller: string;
  /** File name in the container's cgroup dir, e.g. "memory.max". */
  file: string;
  value: string;
}

const reason = (err: unknown) => {
  const errno = (err as { errno?: number }).errno;
  if (errno === undefined) return (err as Error).message;
  return errno === EINVAL ? "invalid argument" : errno === ENOENT ? "no such file (controller missing?)" : errnoName(errno).toLowerCase();
};

/** Write one value; the error names the file and the value (`memory.max: 12: invalid argument`). */
export function writeCgroupFile(dir: string, file: string, value: string): void {
  try {
    // No O_CREAT: cgroupfs answers it for a missing file with EACCES, hiding a missing
    // controller. Write-only: cgroup.kill is mode 0200, which a user's own cgroup keeps.
    writeTextFile(joinPath(dir, file), value);
  } catch (err) {
    throw new BuncError("system", `${file}: ${value}: ${reason(err)} (in ${dir})`);
  }
}
