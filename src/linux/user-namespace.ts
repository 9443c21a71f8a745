// uid/gid maps of a new user namespace, written by the CLI (root in the parent namespace)
// into /proc/<nsinit pid>/{uid,gid}_map while nsinit waits.
import { writeFileSync } from "node:fs";
import { BuncError } from "../errors.ts";

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export const mapText = (maps: IdMapping[]) => maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");

export function writeIdMaps(pid: number, uidMappings: IdMapping[], gidMappings: IdMapping[]): void {
  for (const [file, maps, field] of [
    ["uid_map", uidMappings, "linux.uidMappings"],
    ["gid_map", gidMappings, "linux.gidMappings"],
  ] as const) {
    try {
      writeFileSync(`/proc/${pid}/${file}`, mapText(maps));
    } catch (err) {
      throw new BuncError("config", `${field}: the kernel refused ${JSON.stringify(mapText(maps).trim())}: ${(err as Error).message}`);
    }
  }
}
