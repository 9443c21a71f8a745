// Namespaces of runtime-spec config-linux.md: which to create, which to join, and who does it.
// The pid and time namespaces apply to children only, so the process that spawns the init
// (the CLI, or nsinit with a user namespace) sets them; the init, single-threaded, joins or
// creates all the others itself.
import { CLONE } from "../../ffi/constants.ts";
import type { Sys } from "../../ffi/sys.ts";
import { BuncError } from "../errors.ts";

export type NamespaceType = "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup" | "time";

export const NAMESPACE_FLAGS: Record<NamespaceType, number> = {
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  user: CLONE.NEWUSER,
  cgroup: CLONE.NEWCGROUP,
  time: CLONE.NEWTIME,
};

/** The name of each namespace under /proc/<pid>/ns/. */
export const NAMESPACE_PROC_NAMES: Record<NamespaceType, string> = {
  pid: "pid",
  network: "net",
  mount: "mnt",
  ipc: "ipc",
  uts: "uts",
  user: "user",
  cgroup: "cgroup",
  time: "time",
};

export interface NamespaceEntry {
  type: NamespaceType;
  path?: string;
}

export interface NamespaceSet {
  /** Namespaces to create, as CLONE_NEW* flags. */
  create: number;
  /** Namespaces to join, in the order they must be joined. */
  join: NamespaceEntry[];
}

// Join order: user first (it grants the rights to join the rest), mount last among the
// init's so that the paths of the others are still opened in the caller's mount namespace.
const JOIN_ORDER: NamespaceType[] = ["user", "pid", "time", "ipc", "uts", "network", "cgroup", "mount"];

export function namespaceSet(entries: NamespaceEntry[], types: NamespaceType[]): NamespaceSet {
  const set: NamespaceSet = { create: 0, join: [] };
  for (const type of JOIN_ORDER) {
    if (!types.includes(type)) continue;
    const entry = entries.find((e) => e.type === type);
    if (!entry) continue;
    if (entry.path) set.join.push({ type, path: entry.path });
    else set.create |= NAMESPACE_FLAGS[type];
  }
  return set;
}

export const has = (entries: NamespaceEntry[] | undefined, type: NamespaceType) => (entries ?? []).some((e) => e.type === type);

export const isNew = (entries: NamespaceEntry[] | undefined, type: NamespaceType) =>
  (entries ?? []).some((e) => e.type === type && !e.path);

/**
 * Open a namespace path for joining and check that it is a namespace of the type the config
 * names: joining a net namespace where a pid one was asked for must fail, not half-work.
 */
export function openNamespace(sys: Sys, entry: NamespaceEntry, field: string, openReadOnly: (path: string) => number): number {
  let fd: number;
  try {
    fd = openReadOnly(entry.path!);
  } catch (err) {
    throw new BuncError("config", `${field}: cannot open ${entry.path}: ${(err as Error).message}`);
  }
  let actual: number;
  try {
    actual = sys.nsType(fd, entry.path!);
  } catch {
    sys.close(fd);
    throw new BuncError("config", `${field}: ${entry.path} is not a namespace file`);
  }
  if (actual !== NAMESPACE_FLAGS[entry.type]) {
    sys.close(fd);
    const name = (Object.keys(NAMESPACE_FLAGS) as NamespaceType[]).find((t) => NAMESPACE_FLAGS[t] === actual) ?? "unknown";
    throw new BuncError("config", `${field}: ${entry.path} is a ${name} namespace, not ${entry.type}`);
  }
  return fd;
}

/** Join the namespaces of `set.join` (already opened as `fds`) and create those of `set.create`. */
export function enterNamespaces(sys: Sys, set: NamespaceSet, fds: number[]): void {
  set.join.forEach((entry, i) => {
    sys.setns(fds[i]!, NAMESPACE_FLAGS[entry.type], `${entry.type} namespace ${entry.path}`);
    sys.close(fds[i]!);
  });
  if (set.create) sys.unshare(set.create);
}
