import { boolOption, stringOption } from "../args.ts";
import { parsePlatform } from "../../image/platform.ts";
import { pullImage } from "../../image/pull-image.ts";
import { print } from "../../output.ts";
import { PullProgress } from "../pull-progress.ts";
import type { CommandContext } from "./context.ts";

/** `bunc pull REF`: a registry image into the store under its normalized name. */
export async function pull(ctx: CommandContext): Promise<number> {
  const [reference] = ctx.positionals as [string];
  const platform = stringOption(ctx.options, "platform");
  const registriesConf = stringOption(ctx.options, "registries-conf");
  const json = stringOption(ctx.options, "format") === "json";
  const progress = new PullProgress(json ? "json" : boolOption(ctx.options, "quiet") ? "quiet" : "text", reference);
  try {
    const r = await pullImage(reference, {
      store: ctx.global.store,
      ...(platform !== undefined && { platform: parsePlatform(platform) }),
      ...(registriesConf !== undefined && { registriesConf }),
      insecure: ctx.options["tls-verify"] === false,
      onProgress: progress.report,
    });
    if (json) print(JSON.stringify({ name: r.name, digest: r.manifestDigest, blobsAdded: r.blobsAdded }));
    else print(`${r.name} ${r.manifestDigest}`);
    return 0;
  } finally {
    progress.clear();
  }
}
