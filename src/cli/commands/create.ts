import { createContainer } from "../../runtime/create.ts";
import type { CommandContext } from "./context.ts";
import { createRequest } from "./create-request.ts";

export async function create(ctx: CommandContext): Promise<number> {
  const { child } = await createContainer(ctx.store, createRequest(ctx, false));
  child.unref();
  return 0;
}
