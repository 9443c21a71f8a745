// linux.sysctl: each key written as one record to /proc/sys/<key with dots as slashes> of the
// container's procfs, reached in-root before the read-only paths (/proc/sys among them) are
// applied. Keys are checked for shape first so a key can never name a path outside
// /proc/sys; values were checked by the config validator.
import { O } from "../../ffi/constants.ts";
import type { Sys } from "../../ffi/sys.ts";
import { BuncError, messageOf } from "../errors.ts";
import { openInRoot } from "./safe-path.ts";

const KEY = /^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/;

export function sysctlPath(key: string): string {
  if (!KEY.test(key)) throw new BuncError("config", `linux.sysctl: invalid key ${JSON.stringify(key)}`);
  return `/proc/sys/${key.replaceAll(".", "/")}`;
}

export function writeSysctls(sys: Sys, rootFd: number, sysctl: Record<string, string>): void {
  for (const [key, value] of Object.entries(sysctl)) {
    const path = sysctlPath(key);
    let fd: number | undefined;
    try {
      fd = openInRoot(sys, rootFd, path, O.WRONLY | O.NOFOLLOW);
      sys.write(fd, value, path);
    } catch (err) {
      throw new BuncError("system", `linux.sysctl: cannot set ${key}=${value}: ${messageOf(err)}`);
    } finally {
      if (fd !== undefined) sys.close(fd);
    }
  }
}
