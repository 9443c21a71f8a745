// `run`: create + start. In the foreground bunc stays the container's parent: it forwards
// the signals it gets to the container's init, waits, removes the container (unless --keep)
// and exits with the process's code, or 128+N when a signal N killed it.
import { constants } from "node:os";
import { boolOption } from "../args.ts";
import { sendSignal } from "../../../ffi/io.ts";
import { createContainer } from "../../runtime/create.ts";
import { createRequest } from "./create.ts";
import type { CommandContext } from "./context.ts";

const FORWARDED = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGCONT"] as const;

export async function run(ctx: CommandContext): Promise<number> {
  const detach = boolOption(ctx.options, "detach");
  const id = ctx.positionals[0]!;
  // Loaded while create waits for the init, not before it is spawned.
  const lifecycle = import("../../runtime/lifecycle.ts");
  const { record, child } = await createContainer(ctx.store, createRequest(ctx, !detach));
  const { deleteContainer, startContainer } = await lifecycle;
  const forward = (name: (typeof FORWARDED)[number]) => () => sendSignal(record.pid, constants.signals[name]);
  const handlers = FORWARDED.map((name) => [name, forward(name)] as const);
  if (!detach) for (const [name, h] of handlers) process.on(name, h);
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
  for (const [name, h] of handlers) process.off(name, h);
  if (!boolOption(ctx.options, "keep")) deleteContainer(ctx.store, id, true);
  if (child.signalCode) return 128 + (constants.signals[child.signalCode as keyof typeof constants.signals] ?? 0);
  return child.exitCode ?? 1;
}
