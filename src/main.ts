// One binary, three roles, chosen by an environment marker that only bunc sets: the CLI,
// and the nsinit and init stages it starts of itself (see runtime/stages/).
import { runCli } from "./cli/main.ts";
import { runInit } from "./runtime/stages/init.ts";
import { runNsinit } from "./runtime/stages/nsinit.ts";
import { STAGE_MARKER } from "./runtime/stages/stage-env.ts";

const role = process.env[STAGE_MARKER];
if (role === "init") runInit();
else if (role === "nsinit") runNsinit();
else runCli(process.argv.slice(2)).then((code) => process.exit(code));
