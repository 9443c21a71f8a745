import { stringOption } from "../args.ts";
import { parsePlatform } from "../../image/platform.ts";
import { openImage } from "../../image/resolve.ts";
import { claimEmptyDir, discardDir, unpackImage } from "../../image/unpack-image.ts";
import type { CommandContext } from "./context.ts";

/** `bunc unpack SRC DEST`: the image's layers applied into DEST, as `umoci raw unpack` does. */
export async function unpack(ctx: CommandContext): Promise<number> {
  const [source, dest] = ctx.positionals as [string, string];
  const platform = stringOption(ctx.options, "platform");
  const image = await openImage(source, {
    store: ctx.global.store,
    ...(platform !== undefined && { platform: parsePlatform(platform) }),
  });
  const made = claimEmptyDir(dest, "destination");
  try {
    await unpackImage(image, dest);
  } catch (err) {
    discardDir(dest, made);
    throw err;
  }
  return 0;
}
