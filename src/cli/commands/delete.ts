import { boolOption } from "../args.ts";
import { deleteContainer } from "../../runtime/lifecycle.ts";
import type { CommandContext } from "./context.ts";

export function del(ctx: CommandContext): number {
  deleteContainer(ctx.store, ctx.positionals[0]!, boolOption(ctx.options, "force"));
  return 0;
}
