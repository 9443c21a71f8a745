import { startContainer } from "../../runtime/lifecycle.ts";
import type { CommandContext } from "./context.ts";

export function start(ctx: CommandContext): number {
  startContainer(ctx.store, ctx.positionals[0]!);
  return 0;
}
