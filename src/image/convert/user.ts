// Config.User → process.user (image-spec conversion.md, "Config.User"). The forms are
// `user`, `uid`, `user:group`, `uid:gid`, `uid:group` and `user:gid`. Numbers are taken as
// they are; names are looked up in the rootfs's own /etc/passwd and /etc/group. Additional
// gids come from /etc/group only when the user is given by name and no group is given, as
// the spec says.
import { imageError } from "./image-error.ts";
import { parseGroup, parseId, parsePasswd, type GroupEntry, type PasswdEntry } from "./passwd.ts";
import { readRootfsFile } from "./rootfs-file.ts";

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
  /** The home directory from /etc/passwd, when the user has an entry there. */
  home?: string;
}

const PASSWD = "/etc/passwd";
const GROUP = "/etc/group";

/** Resolve `spec` (Config.User or an override) against the rootfs at `rootfsDir`. */
export function resolveUser(spec: string, rootfsDir: string, field = "Config.User"): ResolvedUser {
  if (spec === "") return { uid: 0, gid: 0 };
  const parts = spec.split(":");
  if (parts.length > 2) throw imageError(field, `${JSON.stringify(spec)} is not user, user:group, uid or uid:gid`);
  const [userPart, groupPart] = parts as [string, string | undefined];
  if (userPart === "" || groupPart === "") throw imageError(field, `${JSON.stringify(spec)} has an empty user or group`);

  // The files are read only when a name or a missing gid asks for them.
  let passwd: PasswdEntry[] | undefined;
  const passwdEntries = () => (passwd ??= parsePasswd(readRootfsFile(rootfsDir, PASSWD) ?? ""));
  let group: GroupEntry[] | undefined;
  const groupEntries = () => (group ??= parseGroup(readRootfsFile(rootfsDir, GROUP) ?? ""));

  const numericUid = idOf(userPart, field, spec);
  let entry: PasswdEntry | undefined;
  if (numericUid !== undefined) {
    // A uid with no entry is fine: the image may not have /etc/passwd at all.
    if (groupPart === undefined) entry = passwdEntries().find((e) => e.uid === numericUid);
  } else {
    entry = passwdEntries().find((e) => e.name === userPart);
    if (!entry) throw imageError(field, `no user ${JSON.stringify(userPart)} in the rootfs's ${PASSWD}`);
  }
  const uid = numericUid ?? entry!.uid;

  let gid: number;
  if (groupPart !== undefined) {
    const numericGid = idOf(groupPart, field, spec);
    if (numericGid !== undefined) gid = numericGid;
    else {
      const g = groupEntries().find((e) => e.name === groupPart);
      if (!g) throw imageError(field, `no group ${JSON.stringify(groupPart)} in the rootfs's ${GROUP}`);
      gid = g.gid;
    }
  } else gid = entry?.gid ?? 0;

  const user: ResolvedUser = { uid, gid };
  if (entry?.home) user.home = entry.home;
  if (numericUid === undefined && groupPart === undefined) {
    const extra = groupEntries()
      .filter((g) => g.members.includes(userPart) && g.gid !== gid)
      .map((g) => g.gid);
    user.additionalGids = [...new Set(extra)];
  }
  return user;
}

/** The id a numeric part means, undefined for a name; a number out of range is an error. */
function idOf(part: string, field: string, spec: string): number | undefined {
  if (!/^[0-9]+$/.test(part)) return undefined;
  const id = parseId(part);
  if (id === undefined) throw imageError(field, `${part} in ${JSON.stringify(spec)} is out of range (0 to 2147483647)`);
  return id;
}
