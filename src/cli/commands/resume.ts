import { resumeContainer } from "../../runtime/lifecycle.ts";
import type { CommandContext } from "./context.ts";

export function resume(ctx: CommandContext): number {
  resumeContainer(ctx.store, ctx.positionals[0]!);
  return 0;
}
