// /etc/subuid and /etc/subgid: the host id ranges each user may map into a user namespace
// through newuidmap/newgidmap. A line is `user:first:count`, the user by name or number.
import { readTextFile } from "../../ffi/files.ts";
import type { IdMapping } from "./user-namespace.ts";

export const SUBUID_FILE = "/etc/subuid";
export const SUBGID_FILE = "/etc/subgid";

export interface SubIdRange {
  start: number;
  count: number;
}

export function parseSubIds(text: string, name: string | undefined, id: number): SubIdRange[] {
  const out: SubIdRange[] = [];
  for (const line of text.split("\n")) {
    const [who, start, count] = line.trim().split(":");
    if (who === undefined || start === undefined || count === undefined) continue;
    if (who !== name && who !== String(id)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && s >= 0 && c > 0) out.push({ start: s, count: c });
  }
  return out;
}

/** The caller's ranges in `file` (none when the file is missing or unreadable). */
export function readSubIds(file: string, name: string | undefined, id: number): SubIdRange[] {
  try {
    return parseSubIds(readTextFile(file), name, id);
  } catch {
    return [];
  }
}

/** Mappings whose host ids are neither the caller's own id nor inside one of its ranges. */
export function missingSubIdRanges(maps: IdMapping[], own: number, ranges: SubIdRange[]): IdMapping[] {
  return maps.filter((m) => {
    if (m.size === 1 && m.hostID === own) return false;
    return !ranges.some((r) => m.hostID >= r.start && m.hostID + m.size <= r.start + r.count);
  });
}

/** The caller's login name, from /etc/passwd (bun's userInfo() may answer "unknown"), or from USER/LOGNAME for users only NSS knows. */
export function userName(uid: number, passwd = readPasswd()): string | undefined {
  for (const line of passwd.split("\n")) {
    const [name, , id] = line.split(":");
    if (name && id === String(uid)) return name;
  }
  return undefined;
}

function readPasswd(): string {
  try {
    return readTextFile("/etc/passwd");
  } catch {
    return "";
  }
}

export interface IdMaps {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

/** The caller's own id as 0, then its ranges one after another from 1 (as rootless podman maps). */
export function mapsFromRanges(own: number, ranges: SubIdRange[]): IdMapping[] {
  const maps: IdMapping[] = [{ containerID: 0, hostID: own, size: 1 }];
  let next = 1;
  for (const r of ranges) {
    maps.push({ containerID: next, hostID: r.start, size: r.count });
    next += r.count;
  }
  return maps;
}

/**
 * The widest maps the caller may set through newuidmap/newgidmap: undefined when either file
 * gives it no range or a helper is not installed (then only its own ids can be mapped).
 */
export function wideIdMaps(euid: number, egid: number, helperPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"): IdMaps | undefined {
  const name = userName(euid);
  const uids = readSubIds(SUBUID_FILE, name, euid);
  const gids = readSubIds(SUBGID_FILE, name, euid);
  if (uids.length === 0 || gids.length === 0) return undefined;
  if (!Bun.which("newuidmap", { PATH: helperPath }) || !Bun.which("newgidmap", { PATH: helperPath })) return undefined;
  return { uidMappings: mapsFromRanges(euid, uids), gidMappings: mapsFromRanges(egid, gids) };
}

/** Only the caller's own ids, as root: what needs no helper. */
export const ownIdMaps = (euid: number, egid: number): IdMaps => ({
  uidMappings: [{ containerID: 0, hostID: euid, size: 1 }],
  gidMappings: [{ containerID: 0, hostID: egid, size: 1 }],
});
