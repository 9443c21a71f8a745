import { pauseContainer } from "../../runtime/lifecycle.ts";
import type { CommandContext } from "./context.ts";

export function pause(ctx: CommandContext): number {
  pauseContainer(ctx.store, ctx.positionals[0]!);
  return 0;
}
