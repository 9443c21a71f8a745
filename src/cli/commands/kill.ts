import { boolOption } from "../args.ts";
import { parseSignal } from "../signals.ts";
import { killContainer } from "../../runtime/lifecycle.ts";
import type { CommandContext } from "./context.ts";

export function kill(ctx: CommandContext): number {
  const signal = parseSignal(ctx.positionals[1] ?? "SIGTERM");
  killContainer(ctx.store, ctx.positionals[0]!, signal, boolOption(ctx.options, "all"));
  return 0;
}
