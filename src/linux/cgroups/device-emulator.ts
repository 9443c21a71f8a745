// The devices cgroup v1 state machine, run in memory. cgroup v2 has no devices files: a
// BPF_PROG_TYPE_CGROUP_DEVICE program decides instead. So that a config means the same on
// both, its ordered rule list is replayed here as v1 would apply it, and the program is
// built from the end state (device-bpf.ts).
//
// v1, as the kernel implements it (security/device_cgroup.c):
// - A cgroup has a default (allow or deny) and a list of exceptions, each (type b|c, major,
//   minor, access bits), with ~0 as the wildcard number. It starts as its parent: for a
//   container, the root's "allow everything, no exceptions".
// - A rule of type "a" resets: allow → allow by default, deny → deny by default; the list is
//   emptied. Its numbers and access letters are ignored ("a 1:3 r" is "a *:* rwm").
// - Any other rule whose verdict differs from the default adds an exception: an entry with
//   the very same (type, major, minor) gains the access bits, else a new entry is appended.
// - A rule whose verdict equals the default takes its access bits away from the entry with
//   the very same (type, major, minor), dropping the entry once it has none left. Nothing
//   else changes: "deny c 1:3 r" does not carve 1:3 out of an allowed "c *:* rwm" (v1
//   silently ignores such rules, and so do we, so both versions decide alike; they are
//   listed in `ignored` for a warning);
//   nor does "allow c *:* rwm" lift an earlier "deny c 1:3 rwm".
// - An access (type, major, minor, requested bits), e.g. read+write for an O_RDWR open:
//     default deny:  allowed if one exception matches the device and holds every bit asked;
//     default allow: denied if any exception matches the device and holds any bit asked.
import { configError } from "../../errors.ts";
import type { DeviceRule } from "./device-rules.ts";

/** Access bits, as the kernel numbers them (also BPF_DEVCG_ACC_*). */
export const ACC = { MKNOD: 1, READ: 2, WRITE: 4 } as const;
export const ACC_ALL = ACC.MKNOD | ACC.READ | ACC.WRITE;

export type DeviceType = "b" | "c";

export interface DeviceException {
  type: DeviceType;
  /** -1: any. */
  major: number;
  /** -1: any. */
  minor: number;
  /** Subset of "rwm", in that order, never empty. */
  access: string;
}

export interface DeviceState {
  /** The verdict for a device no exception matches. */
  defaultAllow: boolean;
  /** Exceptions to the default: deny-exceptions when defaultAllow, else allow-exceptions. */
  rules: DeviceException[];
  /**
   * Rules that v1 accepts but that leave part of what they name as it was, because an
   * exception with other numbers still covers it (see above). The caller may warn.
   */
  ignored: DeviceRule[];
}

export interface DeviceAccess {
  type: DeviceType;
  major: number;
  minor: number;
  /** Requested access: bits of ACC or a string of "rwm" letters. */
  access: number | string;
}

export const ANY = -1;
const U32_WILDCARD = 0xffffffff;

export function accessBits(access: string): number {
  let bits = 0;
  for (const ch of access) {
    if (ch === "r") bits |= ACC.READ;
    else if (ch === "w") bits |= ACC.WRITE;
    else if (ch === "m") bits |= ACC.MKNOD;
    else throw new Error(`access letter ${JSON.stringify(ch)}`);
  }
  return bits;
}

export function accessString(bits: number): string {
  return `${bits & ACC.READ ? "r" : ""}${bits & ACC.WRITE ? "w" : ""}${bits & ACC.MKNOD ? "m" : ""}`;
}

const ruleText = (r: DeviceRule) =>
  `${r.allow ? "allow" : "deny"} ${r.type} ${num(r.major)}:${num(r.minor)} ${JSON.stringify(r.access)}`;
const num = (n: number | undefined) => (n === undefined || n < 0 ? "*" : String(n));

/** A rule's major or minor as v1 stores it: -1 (any) or 0 … 2^32-2; 2^32-1 is v1's wildcard. */
function number(r: DeviceRule, n: number | undefined, which: string): number {
  if (n === undefined || n === ANY) return ANY;
  if (!Number.isInteger(n) || n < 0 || n > U32_WILDCARD) {
    throw configError("linux.resources.devices", `${ruleText(r)}: ${which} must be -1 or 0 to 4294967295`);
  }
  return n === U32_WILDCARD ? ANY : n;
}

interface Entry {
  type: DeviceType;
  major: number;
  minor: number;
  bits: number;
}

/** Replays `rules` in order from the root's state (allow all) and returns the end state. */
export function emulateDeviceRules(rules: readonly DeviceRule[]): DeviceState {
  let defaultAllow = true;
  let entries: Entry[] = [];
  const ignored: DeviceRule[] = [];
  for (const r of rules) {
    let bits: number;
    try {
      bits = accessBits(r.access);
    } catch {
      throw configError("linux.resources.devices", `${ruleText(r)}: access must be letters of "rwm"`);
    }
    if (r.type === "a") {
      defaultAllow = r.allow;
      entries = [];
      continue;
    }
    if (r.type !== "b" && r.type !== "c") {
      throw configError("linux.resources.devices", `${ruleText(r)}: type must be "a", "b" or "c"`);
    }
    const e: Entry = { type: r.type, major: number(r, r.major, "major"), minor: number(r, r.minor, "minor"), bits };
    const same = (w: Entry) => w.type === e.type && w.major === e.major && w.minor === e.minor;
    if (r.allow !== defaultAllow) {
      const existing = entries.find(same);
      if (existing) existing.bits |= bits;
      else if (bits !== 0) entries.push(e); // an entry without access bits matches nothing
      continue;
    }
    // Removal: from the entry with the same numbers only. Note the rule if an entry with
    // other numbers (wider or narrower) still holds some of what it names.
    entries = entries.flatMap((w) => {
      if (!same(w)) return [w];
      const left = w.bits & ~bits;
      return left === 0 ? [] : [{ ...w, bits: left }];
    });
    const overlaps = (w: Entry) =>
      w.type === e.type &&
      (w.major === ANY || e.major === ANY || w.major === e.major) &&
      (w.minor === ANY || e.minor === ANY || w.minor === e.minor) &&
      (w.bits & bits) !== 0;
    if (entries.some(overlaps)) ignored.push(r);
  }
  return {
    defaultAllow,
    rules: entries.map((w) => ({ type: w.type, major: w.major, minor: w.minor, access: accessString(w.bits) })),
    ignored,
  };
}

/** Does `e` name the device (v1's type and number match, wildcards included)? */
const namesDevice = (e: DeviceException, a: DeviceAccess) =>
  e.type === a.type && (e.major === ANY || e.major === a.major) && (e.minor === ANY || e.minor === a.minor);

/** v1's verdict on one access, given the end state: what the BPF program must reproduce. */
export function deviceAllowed(state: DeviceState, a: DeviceAccess): boolean {
  const want = typeof a.access === "number" ? a.access : accessBits(a.access);
  if (state.defaultAllow) {
    return !state.rules.some((e) => namesDevice(e, a) && (accessBits(e.access) & want) !== 0);
  }
  return state.rules.some((e) => namesDevice(e, a) && (want & ~accessBits(e.access)) === 0);
}
