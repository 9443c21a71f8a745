// How the CLI starts a stage of its own binary. The role is chosen by an environment marker,
// never by argv; the environment is minimal and fixed (never the caller's: BUN_OPTIONS there
// could preload code), and pins Bun to a single thread, which unshare(CLONE_NEWUSER) and
// setns into user and mount namespaces require.
import { readTextFile } from "../../../ffi/files.ts";
import { BuncError } from "../../errors.ts";

export const STAGE_MARKER = "_BUNC_STAGE";
export const STAGE_FD_VAR = "_BUNC_STAGE_FD";
export type StageRole = "init" | "nsinit" | "exec" | "storage";

const SINGLE_THREAD = {
  BUN_JSC_useConcurrentJIT: "0",
  BUN_JSC_useConcurrentGC: "0",
  BUN_JSC_numberOfGCMarkers: "1",
  BUN_JSC_useWarmUpMarkedBlocks: "0",
  MIMALLOC_PURGE_DELAY: "-1",
};

export function stageEnv(role: StageRole, stageFd: number): Record<string, string> {
  return { [STAGE_MARKER]: role, [STAGE_FD_VAR]: String(stageFd), ...SINGLE_THREAD };
}

export const isCompiled = () => Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");

/**
 * The command that runs this same program in a stage. The compiled binary is executed from
 * a read-only view of itself passed as fd `exeSlot` (see readOnlySelf), so a container
 * process that reaches the stage's /proc/<pid>/exe cannot write to the host's binary
 * (CVE-2019-5736). From source it is bun plus the entry script.
 */
export function stageCommand(exeSlot: number): string[] {
  return isCompiled() ? [`/proc/self/fd/${exeSlot}`] : [process.execPath, Bun.main];
}

export function threadCount(): number {
  const m = /^Threads:\s+(\d+)/m.exec(readTextFile("/proc/self/status"));
  return m ? Number(m[1]) : -1;
}

export function assertSingleThreaded(stage: StageRole): void {
  const n = threadCount();
  if (n !== 1) throw new BuncError("stage", `${stage} stage has ${n} threads; namespaces need exactly 1`);
}
