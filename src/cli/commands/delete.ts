import { boolOption } from "../args.ts";
import { removeImageRunDir } from "../../image/run/container-rootfs.ts";
import { deleteContainer } from "../../runtime/lifecycle.ts";
import type { CommandContext } from "./context.ts";

export function del(ctx: CommandContext): number {
  const id = ctx.positionals[0]!;
  deleteContainer(ctx.store, id, boolOption(ctx.options, "force"));
  // A container `run --image` made has its rootfs and bundle there.
  removeImageRunDir(ctx.global.root, id);
  return 0;
}
