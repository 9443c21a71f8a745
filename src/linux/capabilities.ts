// Linux capability names and bit numbers (linux/capability.h). Names keep the `CAP_` prefix,
// as runtime-spec configs and runc spell them.
import { readTextFile } from "../../ffi/files.ts";
import { BuncError } from "../errors.ts";

export const CAPABILITIES: Record<string, number> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
};

/** The highest capability bit this table knows. */
export const LAST_KNOWN_CAPABILITY = 40;

// A plain-object lookup would also find inherited keys such as "toString".
export const isCapabilityName = (name: string): boolean => Object.hasOwn(CAPABILITIES, name);

/** The capability set with the named bits on, as the 64-bit value capset(2) is built from. */
export function capabilityMask(names: string[]): bigint {
  let mask = 0n;
  for (const name of names) {
    if (!isCapabilityName(name)) throw new BuncError("config", `unknown capability ${JSON.stringify(name)}`);
    mask |= 1n << BigInt(CAPABILITIES[name]!);
  }
  return mask;
}

/**
 * The ambient capabilities the kernel will not raise: each must be both permitted and
 * inheritable. runc leaves these out with a warning rather than failing (`runc spec` itself
 * lists ambient capabilities without inheritable ones), and so does bunc.
 */
export function unraisableAmbient(caps: { ambient?: string[]; inheritable?: string[]; permitted?: string[] } | undefined): string[] {
  const inheritable = new Set(caps?.inheritable ?? []);
  const permitted = new Set(caps?.permitted ?? []);
  return [...new Set(caps?.ambient ?? [])].filter((name) => !inheritable.has(name) || !permitted.has(name));
}

/** runc's warning for an ambient capability it could not raise, word for word. */
export const ambientWarning = (name: string) => `can't raise ambient capability ${name}: operation not permitted`;

let lastCap: number | undefined;

/**
 * The highest capability the running kernel knows. Bits above it must be left out of
 * capset and PR_CAPBSET_DROP, or the kernel answers EINVAL. Falls back to 40 where the
 * file cannot be read (old kernels, no /proc).
 */
export function lastCapability(): number {
  if (lastCap !== undefined) return lastCap;
  let value = LAST_KNOWN_CAPABILITY;
  try {
    const n = Number.parseInt(readTextFile("/proc/sys/kernel/cap_last_cap").trim(), 10);
    if (Number.isInteger(n) && n >= 0 && n < 64) value = n;
  } catch {
    // keep the fallback
  }
  lastCap = value;
  return value;
}
