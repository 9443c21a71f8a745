// The process's identity and privileges, applied in the order the kernel requires:
// bounding set first (needs CAP_SETPCAP), keep capabilities across the uid change, groups,
// gid, uid, then the exact capability sets, ambient last (ambient needs permitted and
// inheritable). Inheritable and ambient stay empty unless the config names them
// (CVE-2022-29162).
import { PR, RLIMIT } from "../../ffi/constants.ts";
import type { Sys } from "../../ffi/sys.ts";
import { BuncError } from "../errors.ts";
import { CAPABILITIES, isCapabilityName, lastCapability, unraisableAmbient } from "./capabilities.ts";
import { rlimitValue } from "../spec/rlimit-value.ts";

export interface CapabilityConfig {
  bounding?: string[];
  effective?: string[];
  permitted?: string[];
  inheritable?: string[];
  ambient?: string[];
}

export interface UserConfig {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

export interface RlimitConfig {
  type: string;
  soft: number;
  hard: number;
}

const capNumber = (name: string, field: string) => {
  if (!isCapabilityName(name)) throw new BuncError("config", `${field}: unknown capability ${JSON.stringify(name)}`);
  return CAPABILITIES[name]!;
};

const maskOf = (names: string[] | undefined, field: string) =>
  (names ?? []).reduce((mask, name) => mask | (1n << BigInt(capNumber(name, field))), 0n);


export function applyRlimits(sys: Sys, rlimits: RlimitConfig[]): void {
  for (const r of rlimits) {
    const resource = RLIMIT[r.type];
    if (resource === undefined) throw new BuncError("config", `process.rlimits: unknown type ${r.type}`);
    sys.setrlimit(resource, rlimitValue(r.soft), rlimitValue(r.hard), r.type);
  }
}

export function applyCredentials(sys: Sys, user: UserConfig, caps: CapabilityConfig | undefined, setgroupsAllowed: boolean): void {
  const last = lastCapability();
  const bounding = maskOf(caps?.bounding, "process.capabilities.bounding");
  for (let cap = 0; cap <= last; cap++) {
    if (!(bounding & (1n << BigInt(cap)))) sys.capBoundingDrop(cap);
  }
  sys.prctl(PR.SET_KEEPCAPS, 1);
  if (setgroupsAllowed) sys.setgroups(user.additionalGids ?? []);
  sys.setresgid(user.gid);
  sys.setresuid(user.uid);
  sys.prctl(PR.SET_KEEPCAPS, 0);
  try {
    sys.capset({
      effective: maskOf(caps?.effective, "process.capabilities.effective"),
      permitted: maskOf(caps?.permitted, "process.capabilities.permitted"),
      inheritable: maskOf(caps?.inheritable, "process.capabilities.inheritable"),
    });
  } catch (err) {
    if (err instanceof BuncError && err.code === "config") throw err;
    throw new BuncError("system", `process.capabilities: the kernel refused the sets (${(err as Error).message}): is a capability outside the runtime's own bounding set?`, (err as BuncError).errno);
  }
  sys.ambientClearAll();
  // Those outside permitted or inheritable are left out (the CLI warned about them).
  const skipped = new Set(unraisableAmbient(caps));
  for (const name of caps?.ambient ?? []) {
    if (!skipped.has(name)) sys.ambientRaise(capNumber(name, "process.capabilities.ambient"));
  }
}
