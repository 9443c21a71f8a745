// One binary, several roles, chosen by an environment marker that only bunc sets: the CLI,
// and the stages it starts of itself (see runtime/stages/). Each role loads
// only its own modules: the stages never pay for the CLI's schemas.
import { STAGE_MARKER } from "./runtime/stages/stage-env.ts";

async function main(): Promise<void> {
  const role = process.env[STAGE_MARKER];
  // The container stages run each line once, single-threaded: with the JIT's compiles made
  // on the main thread there, a loop that tiers up stalls the stage (~1.4 ms for the first
  // compile). Unpacking (storage) keeps the normal policy.
  if (role === "init" || role === "nsinit" || role === "exec") Bun.unsafe.setJITPolicy(1000);
  if (role === "init") (await import("./runtime/stages/init.ts")).runInit();
  else if (role === "nsinit") await (await import("./runtime/stages/nsinit.ts")).runNsinit();
  else if (role === "exec") await (await import("./runtime/stages/exec-stage.ts")).runExecStage();
  else if (role === "storage") await (await import("./runtime/stages/storage-stage.ts")).runStorageStage();
  else process.exit(await (await import("./cli/main.ts")).runCli(process.argv.slice(2)));
}

main();
