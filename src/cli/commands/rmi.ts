import { removeImageName } from "../../image/store-list.ts";
import { print, type CommandContext } from "./context.ts";

export async function rmi(ctx: CommandContext): Promise<number> {
  for (const ref of ctx.positionals) {
    for (const name of await removeImageName(ctx.global.store, ref)) print(`Untagged: ${name}`);
  }
  return 0;
}
