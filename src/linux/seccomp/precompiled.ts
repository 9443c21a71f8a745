// The default profile compiled when the binary is built. `bunc spec` and image bundles put
// that exact profile in config.json, and compiling it cold in a fresh process costs ~10 ms
// of JIT-less JavaScript: a lookup by the profile's text costs a fraction of one (no
// hashing library to load, and an exact match, so no collision can hand out a wrong filter).
// build.ts fills BUNC_PRECOMPILED_SECCOMP through `--define`; a run from source has none
// and compiles (then caches) as for any other profile.
import type { LinuxSeccomp } from "../../spec/runtime-config.ts";

declare const BUNC_PRECOMPILED_SECCOMP: string | undefined;

export interface CompiledEntry {
  /** struct sock_filter[] in host byte order, base64. */
  program: string;
  flags: number;
  needsListener: boolean;
}

/** What identifies a profile: the arch bunc runs on and the profile as parsed from config.json, as text. */
export function profileKey(seccomp: LinuxSeccomp): string {
  return `${process.arch}\0${JSON.stringify(seccomp)}`;
}

let table: Map<string, CompiledEntry> | undefined;

export function precompiledProgram(key: string): CompiledEntry | undefined {
  table ??= new Map(typeof BUNC_PRECOMPILED_SECCOMP === "string" ? (JSON.parse(BUNC_PRECOMPILED_SECCOMP) as [string, CompiledEntry][]) : []);
  return table.get(key);
}
