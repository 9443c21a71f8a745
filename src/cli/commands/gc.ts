import { collectGarbage } from "../../image/store-gc.ts";
import { print, type CommandContext } from "./context.ts";

export async function gc(ctx: CommandContext): Promise<number> {
  const r = await collectGarbage(ctx.global.store);
  const trees = r.treesRemoved > 0 ? `; ${r.treesRemoved} unpacked image trees` : "";
  print(`removed ${r.blobsRemoved} blobs (${r.bytesFreed} bytes) and ${r.tempsRemoved} temporary files${trees}`);
  return 0;
}
