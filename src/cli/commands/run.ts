// `run`: create + start. In the foreground bunc stays the container's parent: it forwards
// the signals it gets to the container's init, waits, removes the container (unless --keep)
// and exits with the process's code, or 128+N when a signal N killed it.
import { boolOption } from "../args.ts";
import { childExitCode } from "../../runtime/child-exit.ts";
import { createContainer } from "../../runtime/create.ts";
import { createRequest } from "./create.ts";
import type { CommandContext } from "./context.ts";
import { forwardSignals } from "./forward-signals.ts";

export async function run(ctx: CommandContext): Promise<number> {
  const detach = boolOption(ctx.options, "detach");
  const id = ctx.positionals[0]!;
  // Loaded while create waits for the init, not before it is spawned.
  const lifecycle = import("../../runtime/lifecycle.ts");
  const { record, child } = await createContainer(ctx.store, createRequest(ctx, !detach));
  const { deleteContainer, startContainer } = await lifecycle;
  const stopForwarding = detach ? () => {} : forwardSignals(record.pid);
  try {
    startContainer(ctx.store, id);
  } catch (err) {
    deleteContainer(ctx.store, id, true);
    throw err;
  }
  if (detach) {
    child.unref();
    return 0;
  }
  await child.exited;
  stopForwarding();
  if (!boolOption(ctx.options, "keep")) deleteContainer(ctx.store, id, true);
  return childExitCode(child, 1);
}
