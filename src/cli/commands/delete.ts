import { pathExists } from "../../../ffi/files.ts";
import { boolOption } from "../args.ts";
import { imageRunDir } from "../../image/run/image-run-dir.ts";
import { deleteContainer } from "../../runtime/lifecycle.ts";
import type { CommandContext } from "./context.ts";

export async function del(ctx: CommandContext): Promise<number> {
  const id = ctx.positionals[0]!;
  deleteContainer(ctx.store, id, boolOption(ctx.options, "force"));
  // A container `run --image` made has its rootfs and bundle there.
  if (pathExists(imageRunDir(ctx.global.root, id))) (await import("../../image/run/container-rootfs.ts")).removeImageRunDir(ctx.global.root, id);
  return 0;
}
