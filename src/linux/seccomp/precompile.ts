// Build time: compiles the seccomp profiles of the configs bunc writes itself, for
// precompiled.ts to find at run time.
import { parseConfig } from "../../spec/validate-config.ts";
import { compileSeccomp } from "./compile.ts";
import { profileKey, type CompiledEntry } from "./precompiled.ts";

/**
 * For build.ts: the profiles of the configs bunc writes itself, keyed as create will look
 * them up. The config goes through the same text and parser as at create, so the key matches.
 */
export function precompileProfiles(configs: readonly object[]): [string, CompiledEntry][] {
  const out: [string, CompiledEntry][] = [];
  for (const config of configs) {
    const seccomp = parseConfig(JSON.stringify(config), "config.json").linux?.seccomp;
    if (!seccomp) continue;
    const compiled = compileSeccomp(seccomp);
    out.push([profileKey(seccomp), { program: compiled.program.toString("base64"), flags: compiled.flags, needsListener: compiled.needsListener }]);
  }
  return out;
}
