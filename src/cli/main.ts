// The CLI role: parse argv with runc's grammar, run one command, map errors to one line on
// standard error (and the log file) and an exit code.
import { commit, version } from "../build-info.ts";
import { BuncError, messageOf } from "../errors.ts";
import { StateStore } from "../runtime/state-store.ts";
import { parseArgs, usageText } from "./args.ts";
import { create } from "./commands/create.ts";
import type { Command } from "./commands/context.ts";
import { del } from "./commands/delete.ts";
import { features } from "./commands/features.ts";
import { kill } from "./commands/kill.ts";
import { list } from "./commands/list.ts";
import { run } from "./commands/run.ts";
import { spec } from "./commands/spec.ts";
import { start } from "./commands/start.ts";
import { state } from "./commands/state.ts";
import { configureLog, log } from "./log.ts";

const COMMANDS: Record<string, Command> = { create, start, state, kill, delete: del, run, list, spec, features };

export function exitCodeOf(err: unknown): number {
  if (err instanceof BuncError) {
    if (err.code === "exec-not-found") return 127;
    if (err.code === "exec-denied") return 126;
  }
  return 1;
}

export async function runCli(argv: string[]): Promise<number> {
  let jsonErrors = false;
  try {
    const parsed = parseArgs(argv);
    const { global } = parsed;
    configureLog({ file: global.log, format: global.logFormat, debug: global.debug });
    jsonErrors = global.logFormat === "json";
    if (global.version) {
      process.stdout.write(`bunc version ${version}\ncommit: ${commit}\nspec: 1.3.0\n`);
      return 0;
    }
    if (global.help || !parsed.command || parsed.command === "help") {
      process.stdout.write(usageText(parsed.command === "help" ? parsed.positionals[0] : parsed.command));
      return 0;
    }
    const command = COMMANDS[parsed.command];
    if (!command) throw new BuncError("unsupported", `command "${parsed.command}" is not implemented yet`);
    log("debug", `${parsed.command} ${parsed.positionals.join(" ")}`);
    const store = new StateStore(global.root);
    return await command({ global, options: parsed.options, positionals: parsed.positionals, store });
  } catch (err) {
    const msg = messageOf(err);
    log("error", msg);
    process.stderr.write(jsonErrors ? `${JSON.stringify({ level: "error", msg, time: new Date().toISOString() })}\n` : `bunc: ${msg}\n`);
    return exitCodeOf(err);
  }
}
