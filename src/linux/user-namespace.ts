// uid/gid maps of a new user namespace, written by the CLI into /proc/<nsinit pid>/{uid,gid}_map
// while nsinit waits.
//   root      writes any maps itself;
//   rootless  a map of just its own id (size 1) it may write itself, after "deny" in
//             /proc/<pid>/setgroups for the gid map, as the kernel demands; anything wider
//             goes through the setuid newuidmap/newgidmap (the uidmap package), which allow
//             ranges listed for the caller in /etc/subuid and /etc/subgid.
import { readTextFile, writeTextFile } from "../../ffi/files.ts";
import { BuncError } from "../errors.ts";
import { missingSubIdRanges, readSubIds, SUBGID_FILE, SUBUID_FILE, userName } from "./subids.ts";

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export const mapText = (maps: IdMapping[]) => maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");

/** Only the caller's own id, which an unprivileged process may map itself. */
export const selfOnly = (maps: IdMapping[], id: number) => maps.length === 1 && maps[0]!.hostID === id && maps[0]!.size === 1;

/** Write both maps; returns whether setgroups(2) stays allowed in the namespace. */
export function writeIdMaps(pid: number, uidMappings: IdMapping[], gidMappings: IdMapping[], euid = process.geteuid!(), egid = process.getegid!()): boolean {
  for (const [kind, maps, field] of [
    ["uid", uidMappings, "linux.uidMappings"],
    ["gid", gidMappings, "linux.gidMappings"],
  ] as const) {
    const own = kind === "uid" ? euid : egid;
    if (euid === 0 || selfOnly(maps, own)) {
      if (euid !== 0 && kind === "gid") writeProc(pid, "setgroups", "deny", field);
      writeProc(pid, `${kind}_map`, mapText(maps), field);
    } else {
      runIdMapHelper(kind, pid, maps, field, euid, own);
    }
  }
  try {
    return readTextFile(`/proc/${pid}/setgroups`).trim() === "allow";
  } catch {
    return false;
  }
}

function writeProc(pid: number, file: string, text: string, field: string): void {
  try {
    writeTextFile(`/proc/${pid}/${file}`, text);
  } catch (err) {
    throw new BuncError("config", `${field}: the kernel refused ${JSON.stringify(text.trim())} in /proc/${pid}/${file}: ${(err as Error).message}`);
  }
}

function runIdMapHelper(kind: "uid" | "gid", pid: number, maps: IdMapping[], field: string, euid: number, own: number): void {
  const helper = kind === "uid" ? "newuidmap" : "newgidmap";
  const file = kind === "uid" ? SUBUID_FILE : SUBGID_FILE;
  const name = userName(euid);
  // Say what is missing from the file before the helper says it less clearly.
  const missing = missingSubIdRanges(maps, own, readSubIds(file, name, euid));
  if (missing.length) {
    const list = missing.map((m) => `${m.hostID}-${m.hostID + m.size - 1}`).join(", ");
    throw new BuncError(
      "config",
      `${field}: host ${kind}s ${list} are not yours: ${file} gives ${name ?? `uid ${euid}`} no range covering them; add a line such as "${name ?? euid}:${missing[0]!.hostID}:${Math.max(65536, missing[0]!.size)}" to ${file} (as root), or map only your own ${kind} ${own}`,
    );
  }
  const path = Bun.which(helper, { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" });
  if (!path) throw new BuncError("config", `${field}: mapping more than your own ${kind} needs ${helper}, which is not installed (Debian/Ubuntu: apt install uidmap; Fedora: shadow-utils)`);
  const args = maps.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)]);
  const r = Bun.spawnSync({ cmd: [path, String(pid), ...args], stdio: ["ignore", "pipe", "pipe"], env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
  if (r.exitCode !== 0) {
    const said = (r.stderr.toString() + r.stdout.toString()).trim();
    throw new BuncError("config", `${field}: ${helper} ${pid} ${args.join(" ")} failed (exit ${r.exitCode}): ${said || "no message"}; check the ranges for ${name ?? `uid ${euid}`} in ${file}, and that ${path} is setuid root`);
  }
}
