// The default profile compiled when the binary is built. `bunc spec` and image bundles put
// that exact profile in config.json, and compiling it cold in a fresh process costs ~10 ms
// of JIT-less JavaScript: a lookup by the profile's hash costs a fraction of one.
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

/** What identifies a profile: the arch bunc runs on and the profile as parsed from config.json. */
export function profileKey(seccomp: LinuxSeccomp): string {
  return new Bun.CryptoHasher("sha256").update(`${process.arch}\0`).update(JSON.stringify(seccomp)).digest("hex");
}

let table: Record<string, CompiledEntry> | undefined;

export function precompiledProgram(key: string): CompiledEntry | undefined {
  table ??= typeof BUNC_PRECOMPILED_SECCOMP === "string" ? (JSON.parse(BUNC_PRECOMPILED_SECCOMP) as Record<string, CompiledEntry>) : {};
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
