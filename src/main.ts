// One binary, several roles, chosen by an environment marker that only bunc sets: the CLI,
// and the stages it starts of itself (see runtime/stages/). Each role loads
// only its own modules: the stages never pay for the CLI's schemas.
import { STAGE_MARKER } from "./runtime/stages/stage-env.ts";

async function main(): Promise<void> {
  const role = process.env[STAGE_MARKER];
  // Most of what bunc does runs each line once: JIT compiles cost more than they save. In
  // a single-threaded stage they stall it (~1.4 ms for the first); in the CLI the compiler
  // thread takes the core the init boots on (~4 ms of a `run`). Unpacking (the storage
  // stage, and the CLI's image commands: cli/main.ts) keeps the normal policy.
  if (role !== "storage") Bun.unsafe.setJITPolicy(1000);
  if (role === "init") (await import("./runtime/stages/init.ts")).runInit();
  else if (role === "nsinit") await (await import("./runtime/stages/nsinit.ts")).runNsinit();
  else if (role === "exec") await (await import("./runtime/stages/exec-stage.ts")).runExecStage();
  else if (role === "storage") await (await import("./runtime/stages/storage-stage.ts")).runStorageStage();
  else {
    const argv = process.argv.slice(2);
    // A container's cgroup placement waits for the kernel's first migration in a while (an
    // RCU grace period, 10-25 ms here): create and run start a harmless one before anything
    // else. An argument "run" or "create" that is not the command costs only that.
    if (argv.includes("run") || argv.includes("create")) (await import("./linux/cgroups/migration-warmup.ts")).warmUpMigration();
    process.exit(await (await import("./cli/main.ts")).runCli(argv));
  }
}

main();
