// linux.sysctl: each key written as one record to /proc/sys/<key with dots as slashes> of the
// container's procfs, reached in-root before the read-only paths (/proc/sys among them) are
// applied. Keys are checked for shape first so a key can never name a path outside
// /proc/sys; values were checked by the config validator.
import { statPath } from "../../ffi/files.ts";
import { O } from "../../ffi/constants.ts";
import type { Sys } from "../../ffi/sys.ts";
import { BuncError, configError, messageOf } from "../errors.ts";
import { openInRoot } from "./safe-path.ts";

const STEP = /^[a-zA-Z0-9_.-]+$/;

/** The /proc/sys path of a key: dots separate its steps, or slashes as sysctl(8) takes them
 *  (then a dot belongs to the name, as in net/ipv4/conf/eth0.100/forwarding). */
export function sysctlPath(key: string): string {
  const steps = key.includes("/") ? key.split("/") : key.split(".");
  if (steps.some((s) => !STEP.test(s) || s === "." || s === "..")) {
    throw new BuncError("config", `linux.sysctl: invalid key ${JSON.stringify(key)}`);
  }
  return `/proc/sys/${steps.join("/")}`;
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

/** The namespace a sysctl key belongs to (the config check refused every other key). */
const namespaceOfKey = (key: string): "ipc" | "network" => (key.replaceAll("/", ".").startsWith("net.") ? "network" : "ipc");

const PROC_NAME = { ipc: "ipc", network: "net" } as const;

/**
 * A namespace joined by path that is the runtime's own (the host's, as runc puts it) is no
 * namespace of the container's: a sysctl written there would change the host. runc refuses
 * net.* keys there; the same holds for IPC keys, refused too.
 */
export function checkSysctlNamespaces(sysctl: Record<string, string>, namespaces: { type: string; path?: string }[]): void {
  for (const key of Object.keys(sysctl)) {
    const type = namespaceOfKey(key);
    const path = namespaces.find((n) => n.type === type)?.path;
    if (!path) continue;
    let joined;
    let own;
    try {
      joined = statPath(path);
      own = statPath(`/proc/self/ns/${PROC_NAME[type]}`);
    } catch {
      continue; // a path that cannot be opened is reported with its namespace entry
    }
    if (joined.ino === own.ino && joined.dev === own.dev) {
      throw configError(`linux.sysctl[${JSON.stringify(key)}]`, `not allowed in the host's ${type === "ipc" ? "IPC" : "network"} namespace (${path})`);
    }
  }
}
