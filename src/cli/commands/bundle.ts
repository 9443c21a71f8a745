import { join, resolve } from "node:path";
import { stringOption } from "../args.ts";
import { runtimeConfigFromImage, writeBundleConfig } from "../../image/convert/runtime-config.ts";
import { parsePlatform } from "../../image/platform.ts";
import { openImage } from "../../image/resolve.ts";
import { claimEmptyDir, discardDir, unpackImage } from "../../image/unpack-image.ts";
import { toRootless } from "../../runtime/rootless-spec.ts";
import { isRootless } from "../../runtime/rootless.ts";
import type { CommandContext } from "./context.ts";

/**
 * `bunc bundle SRC DIR`: DIR/rootfs from the image's layers and DIR/config.json from its
 * config, as `umoci unpack` does (rootless: as `umoci unpack --rootless`); `bunc run -b DIR ID` runs it.
 */
export async function bundle(ctx: CommandContext): Promise<number> {
  const [source, dir] = ctx.positionals as [string, string];
  const platform = stringOption(ctx.options, "platform");
  const image = await openImage(source, {
    store: ctx.global.store,
    ...(platform !== undefined && { platform: parsePlatform(platform) }),
  });
  const made = claimEmptyDir(dir, "bundle directory");
  try {
    const rootfs = join(dir, "rootfs");
    claimEmptyDir(rootfs, "rootfs");
    await unpackImage(image, rootfs);
    // The config is read against the unpacked tree (users, volume owners), then points at
    // it relative to the bundle, so the bundle can be moved.
    const config = runtimeConfigFromImage(image.config, resolve(rootfs), { imageName: source });
    config.root = { ...config.root, path: "rootfs" };
    // Made by a user without root: a config that user can run (bunc spec --rootless's changes).
    writeBundleConfig(dir, isRootless(ctx.global.rootless) && config.linux ? toRootless(config, process.geteuid!(), process.getegid!()) : config);
  } catch (err) {
    discardDir(dir, made);
    throw err;
  }
  return 0;
}
