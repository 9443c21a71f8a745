import { stringOption } from "../args.ts";
import { importImage } from "../../image/import.ts";
import { parsePlatform } from "../../image/platform.ts";
import { print, type CommandContext } from "./context.ts";

export async function importCommand(ctx: CommandContext): Promise<number> {
  const [source, name] = ctx.positionals as [string, string?];
  const platform = stringOption(ctx.options, "platform");
  const r = await importImage(source, {
    store: ctx.global.store,
    ...(name !== undefined && { name }),
    ...(platform !== undefined && { platform: parsePlatform(platform) }),
  });
  print(`${r.name} ${r.manifestDigest}`);
  return 0;
}
