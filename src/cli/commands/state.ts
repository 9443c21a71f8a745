import { loadContainer, stateDocument } from "../../runtime/container.ts";
import { print, type CommandContext } from "./context.ts";

export function state(ctx: CommandContext): number {
  print(JSON.stringify(stateDocument(loadContainer(ctx.store, ctx.positionals[0]!)), null, 2));
  return 0;
}
