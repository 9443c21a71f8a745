// linux.sysctl: each key written as one record to /proc/sys/<key with dots as slashes>,
// inside the container after its /proc is mounted. Keys are checked for shape first so a
// key can never name a path outside /proc/sys; values were checked by the config validator.
import { writeFileSync } from "node:fs";
import { BuncError } from "../errors.ts";

const KEY = /^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/;

export function sysctlPath(key: string): string {
  if (!KEY.test(key)) throw new BuncError("config", `linux.sysctl: invalid key ${JSON.stringify(key)}`);
  return `/proc/sys/${key.replaceAll(".", "/")}`;
}

export function writeSysctls(sysctl: Record<string, string>): void {
  for (const [key, value] of Object.entries(sysctl)) {
    try {
      writeFileSync(sysctlPath(key), value);
    } catch (err) {
      if (err instanceof BuncError) throw err;
      throw new BuncError("system", `linux.sysctl: cannot set ${key}=${value}: ${(err as Error).message}`);
    }
  }
}
