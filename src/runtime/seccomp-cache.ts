// Compiled seccomp programs: bunc's own default profile comes compiled with the binary;
// others are cached under the state root by a hash of the profile, the arch and the bunc
// version. Engines send the same profile for every container: only the first one pays for
// the compiler (cold, ~10 ms); the rest read ~5 KB of BPF.
import { readTextFile } from "../../ffi/files.ts";
import { joinPath as join } from "../linux/posix-path.ts";
import { nodeFs } from "../node-fs.ts";
import { commit, version } from "../build-info.ts";
import type { SeccompPlan } from "../linux/seccomp/install.ts";
import { log } from "../log.ts";
import type { LinuxSeccomp } from "../spec/runtime-config.ts";
import { precompiledProgram, profileKey, type CompiledEntry as Cached } from "../linux/seccomp/precompiled.ts";

export async function compiledSeccomp(stateRoot: string, seccomp: LinuxSeccomp): Promise<SeccompPlan> {
  const profile = profileKey(seccomp);
  const listener = { listenerPath: seccomp.listenerPath, listenerMetadata: seccomp.listenerMetadata };
  const built = precompiledProgram(profile);
  if (built) return { ...built, ...listener };
  const key = new Bun.CryptoHasher("sha256").update(`${version}\0${commit}\0${profile}`).digest("hex");
  // "@" cannot start a container id: the cache never collides with a container.
  const dir = join(stateRoot, "@cache", "seccomp");
  const file = join(dir, `${key}.json`);
  try {
    return { ...(JSON.parse(readTextFile(file)) as Cached), ...listener };
  } catch {
    // Not cached yet (or unreadable): compile.
  }
  const { compileSeccomp } = await import("../linux/seccomp/compile.ts");
  const compiled = compileSeccomp(seccomp);
  for (const name of compiled.skipped) log("debug", `seccomp: syscall ${name} is unknown here, skipped`);
  const entry: Cached = { program: compiled.program.toString("base64"), flags: compiled.flags, needsListener: compiled.needsListener };
  try {
    nodeFs().mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    nodeFs().writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
    nodeFs().renameSync(tmp, file);
  } catch (err) {
    log("debug", `seccomp: cannot cache the compiled filter: ${(err as Error).message}`);
  }
  return { ...entry, ...listener };
}
