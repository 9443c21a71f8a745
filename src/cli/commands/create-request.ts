// The flags of `create` and `run` as a create request. Kept apart from create.ts so the CLI
// can read them before it loads the rest of create (cli/main.ts starts the stage early).
import { boolOption, intOption, stringOption } from "../args.ts";
import { BuncError } from "../../errors.ts";
import type { CreateRequest } from "../../runtime/create.ts";
import { listenFds } from "../../runtime/socket-activation.ts";
import { isRootless } from "../../runtime/rootless.ts";
import type { CommandContext } from "./context.ts";

export function createRequest(ctx: CommandContext, foreground: boolean): CreateRequest {
  if (stringOption(ctx.options, "pidfd-socket")) throw new BuncError("unsupported", "--pidfd-socket is not supported yet");
  return {
    id: ctx.positionals[0]!,
    bundle: stringOption(ctx.options, "bundle") ?? process.cwd(),
    pidFile: stringOption(ctx.options, "pid-file"),
    consoleSocket: stringOption(ctx.options, "console-socket"),
    preserveFds: intOption("preserve-fds", ctx.options["preserve-fds"]) ?? 0,
    listenFds: listenFds(),
    noPivot: boolOption(ctx.options, "no-pivot"),
    noNewKeyring: boolOption(ctx.options, "no-new-keyring"),
    foreground,
    rootless: isRootless(ctx.global.rootless),
    stage: ctx.stage,
  };
}
