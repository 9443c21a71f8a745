// Device access rules for the devices cgroup (v1 lists, v2 eBPF program). What a container
// gets: the config's rules in order (usually starting with deny-all), then access to the
// default devices bunc creates, as runc does. A linux.devices node is made, but opening it
// takes an allow rule of its own in linux.resources.devices.
export interface DeviceRule {
  allow: boolean;
  /** "a" (all), "c" or "b". */
  type: string;
  /** -1 or absent: any. */
  major?: number;
  minor?: number;
  /** Any of "r", "w", "m". */
  access: string;
}

// /dev/null, zero, full, random, urandom, tty, ptmx, pts/*, plus mknod of anything (the
// node is useless without read/write access).
const DEFAULT_ALLOWED: DeviceRule[] = [
  { allow: true, type: "c", major: -1, minor: -1, access: "m" },
  { allow: true, type: "b", major: -1, minor: -1, access: "m" },
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 7, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 8, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 9, access: "rwm" },
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" },
  { allow: true, type: "c", major: 5, minor: 1, access: "rwm" },
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" },
  { allow: true, type: "c", major: 136, minor: -1, access: "rwm" },
];

export function effectiveDeviceRules(rules: Partial<DeviceRule>[]): DeviceRule[] {
  const fromConfig = rules.map((r) => ({
    allow: r.allow ?? false,
    type: r.type ?? "a",
    major: r.major ?? -1,
    minor: r.minor ?? -1,
    access: r.access ?? "rwm",
  }));
  return [...fromConfig, ...DEFAULT_ALLOWED];
}

/** A rule in the devices.allow/deny syntax: "c 1:3 rwm", "a *:* rwm". */
export function v1RuleText(r: DeviceRule): string {
  const n = (v: number | undefined) => (v === undefined || v < 0 ? "*" : String(v));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}
