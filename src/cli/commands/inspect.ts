import { stringOption } from "../args.ts";
import { parsePlatform } from "../../image/platform.ts";
import { openImage } from "../../image/resolve.ts";
import { print, type CommandContext } from "./context.ts";

export async function inspect(ctx: CommandContext): Promise<number> {
  const platform = stringOption(ctx.options, "platform");
  const image = await openImage(ctx.positionals[0]!, {
    store: ctx.global.store,
    ...(platform !== undefined && { platform: parsePlatform(platform) }),
  });
  const doc = {
    ...(image.name !== undefined && { name: image.name }),
    reference: image.reference,
    manifestDigest: image.manifestDigest,
    manifestMediaType: image.manifestMediaType,
    manifest: image.manifest,
    configDigest: image.configDigest,
    config: image.config,
  };
  print(JSON.stringify(doc, null, 2));
  return 0;
}
