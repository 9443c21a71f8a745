import { boolOption, stringOption } from "../args.ts";
import { parsePlatform } from "../../image/platform.ts";
import { pullImage, type BlobProgress } from "../../image/pull-image.ts";
import { print, printError } from "../../output.ts";
import type { CommandContext } from "./context.ts";

// JSON progress is reported at most every this many bytes of a layer, plus its start and end.
const JSON_PROGRESS_STEP = 1024 * 1024;

/** `bunc pull REF`: a registry image into the store under its normalized name. */
export async function pull(ctx: CommandContext): Promise<number> {
  const [reference] = ctx.positionals as [string];
  const platform = stringOption(ctx.options, "platform");
  const registriesConf = stringOption(ctx.options, "registries-conf");
  const json = stringOption(ctx.options, "format") === "json";
  const quiet = boolOption(ctx.options, "quiet");
  const lastShown = new Map<string, number>();
  // A layer the store (or an earlier pull) had is reported done without any bytes first.
  const fetched = new Set<string>();
  const onProgress = (p: BlobProgress) => {
    if (!p.done) fetched.add(p.digest);
    if (json) {
      const last = lastShown.get(p.digest);
      if (!p.done && last !== undefined && p.received - last < JSON_PROGRESS_STEP) return;
      lastShown.set(p.digest, p.received);
      print(JSON.stringify({ digest: p.digest, received: p.received, total: p.total, done: p.done }));
    } else if (p.done && !quiet) {
      const hex12 = p.digest.slice(p.digest.indexOf(":") + 1, p.digest.indexOf(":") + 13);
      printError(`${hex12} ${fetched.has(p.digest) ? "done" : "exists"} ${p.total}`);
    }
  };
  const r = await pullImage(reference, {
    store: ctx.global.store,
    ...(platform !== undefined && { platform: parsePlatform(platform) }),
    ...(registriesConf !== undefined && { registriesConf }),
    insecure: ctx.options["tls-verify"] === false,
    onProgress,
  });
  if (json) print(JSON.stringify({ name: r.name, digest: r.manifestDigest, blobsAdded: r.blobsAdded }));
  else print(`${r.name} ${r.manifestDigest}`);
  return 0;
}
