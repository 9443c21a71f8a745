// The CLI role: parse argv with runc's grammar, run one command, map errors to one line on
// standard error (and the log file) and an exit code.
import { commit, version } from "../build-info.ts";
import { BuncError, messageOf } from "../errors.ts";
import { StateStore } from "../runtime/state-store.ts";
import { ensurePrivateDir, privateTmpDir } from "../runtime/rootless.ts";
import { leadingGlobalOptions, parseArgs, stringOption, usageText } from "./args.ts";
import type { Command, CommandContext } from "./commands/context.ts";
import type { StartedStage } from "../runtime/stage-start.ts";
import { configureLog, log } from "../log.ts";
import { print, printError } from "../output.ts";

// Loaded on demand: `state` or `kill` should not pay for loading the config schemas.
const COMMANDS: Record<string, () => Promise<Command>> = {
  create: async () => (await import("./commands/create.ts")).create,
  start: async () => (await import("./commands/start.ts")).start,
  state: async () => (await import("./commands/state.ts")).state,
  kill: async () => (await import("./commands/kill.ts")).kill,
  delete: async () => (await import("./commands/delete.ts")).del,
  // From a bundle, or from an image with --image: a plain run must not load the image code.
  run: async () => (ctx) =>
    stringOption(ctx.options, "image") === undefined
      ? import("./commands/run.ts").then((m) => m.run(ctx))
      : import("./commands/run-image.ts").then((m) => m.runImage(ctx)),
  list: async () => (await import("./commands/list.ts")).list,
  spec: async () => (await import("./commands/spec.ts")).spec,
  features: async () => (await import("./commands/features.ts")).features,
  doctor: async () => (await import("./commands/doctor.ts")).doctor,
  pause: async () => (await import("./commands/pause.ts")).pause,
  resume: async () => (await import("./commands/resume.ts")).resume,
  ps: async () => (await import("./commands/ps.ts")).ps,
  exec: async () => (await import("./commands/exec.ts")).exec,
  update: async () => (await import("./commands/update.ts")).update,
  events: async () => (await import("./commands/events.ts")).events,
  import: async () => (await import("./commands/import.ts")).importCommand,
  pull: async () => (await import("./commands/pull.ts")).pull,
  images: async () => (await import("./commands/images.ts")).images,
  rmi: async () => (await import("./commands/rmi.ts")).rmi,
  gc: async () => (await import("./commands/gc.ts")).gc,
  inspect: async () => (await import("./commands/inspect.ts")).inspect,
  unpack: async () => (await import("./commands/unpack.ts")).unpack,
  bundle: async () => (await import("./commands/bundle.ts")).bundle,
  login: async () => (await import("./commands/login.ts")).login,
  logout: async () => (await import("./commands/logout.ts")).logout,
  recvtty: async () => (await import("./commands/recvtty.ts")).recvtty,
};

// Commands whose loops run over megabytes (tar entries, digests, layers): they want the JIT
// that the rest of bunc does without (main.ts).
const IMAGE_WORK = new Set(["pull", "import", "unpack", "bundle", "gc"]);

export function exitCodeOf(err: unknown, command?: string): number {
  if (err instanceof BuncError) {
    if (err.code === "exec-not-found") return 127;
    if (err.code === "exec-denied") return 126;
  }
  // `exec` exits with its process's code: its own failures must not look like one.
  return command === "exec" ? 255 : 1;
}

export async function runCli(argv: string[]): Promise<number> {
  let jsonErrors = false;
  let commandName: string | undefined;
  let logConfigured = false;
  let ctx: CommandContext | undefined;
  try {
    const parsed = parseArgs(argv);
    commandName = parsed.command;
    if (IMAGE_WORK.has(parsed.command ?? "") || stringOption(parsed.options, "image") !== undefined) Bun.unsafe.setJITPolicy(1);
    const { global } = parsed;
    configureLog({ file: global.log, format: global.logFormat, debug: global.debug });
    logConfigured = true;
    // As runc: with a log file, that file gets the formatted line and stderr the plain
    // message (clients show stderr as is); without one, stderr is the log.
    jsonErrors = global.logFormat === "json" && !global.log;
    if (global.version) {
      print(`bunc version ${version}\ncommit: ${commit}\nspec: 1.3.0\n`);
      return 0;
    }
    if (global.help || !parsed.command || parsed.command === "help") {
      print(usageText(parsed.command === "help" ? parsed.positionals[0] : parsed.command));
      return 0;
    }
    const load = COMMANDS[parsed.command];
    if (!load) throw new BuncError("unsupported", `command "${parsed.command}" is not implemented yet`);
    log("debug", `${parsed.command} ${parsed.positionals.join(" ")}`);
    // The per-user fallback under /tmp must be ours alone before any state goes in it.
    if (global.root === privateTmpDir(process.geteuid!())) ensurePrivateDir(global.root);
    ctx = { global, options: parsed.options, positionals: parsed.positionals, dashDash: parsed.dashDash, store: new StateStore(global.root) };
    if (parsed.command === "create" || parsed.command === "run") ctx.stage = await startStageEarly(ctx);
    const run = await load();
    return await run(ctx);
  } catch (err) {
    const msg = messageOf(err);
    const global = logConfigured ? undefined : leadingGlobalOptions(argv);
    if (global) {
      configureLog({ file: global.log, format: global.logFormat, debug: global.debug });
      jsonErrors = global.logFormat === "json";
    }
    log("error", msg);
    printError(jsonErrors ? `${JSON.stringify({ level: "error", msg, time: new Date().toISOString() })}\n` : `bunc: ${msg}\n`);
    return exitCodeOf(err, commandName);
  } finally {
    // A stage no create took over (the command failed before, or wanted another one).
    if (ctx?.stage && !ctx.stage.taken) (await import("../runtime/stage-start.ts")).abandonStage(ctx.store, ctx.stage);
  }
}

/**
 * create and run start the container's first stage before loading the rest of bunc: its own
 * start-up (a second Bun, ~10 ms) then overlaps ours. The command takes it over if its
 * request matches; if this fails, the command runs the same steps and reports the error.
 */
async function startStageEarly(ctx: CommandContext): Promise<StartedStage | undefined> {
  if (stringOption(ctx.options, "image") !== undefined || ctx.positionals[0] === undefined) return undefined;
  try {
    const [{ createRequest }, { startStage }] = await Promise.all([import("./commands/create-request.ts"), import("../runtime/stage-start.ts")]);
    const request = createRequest(ctx, false);
    return startStage(ctx.store, { id: request.id, bundle: request.bundle, preserveFds: request.preserveFds + (request.listenFds ?? 0) });
  } catch {
    return undefined;
  }
}
