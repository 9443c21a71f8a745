// `run`: create + start. In the foreground bunc stays the container's parent: it forwards
// the signals it gets to the container's init, waits, removes the container (unless --keep)
// and exits with the process's code, or 128+N when a signal N killed it. A terminal with no
// --console-socket is attached to bunc's own stdio (runtime/terminal-proxy.ts).
import { boolOption, stringOption } from "../args.ts";
import { childExitCode } from "../../runtime/child-exit.ts";
import { openConsoleReceiver, type ConsoleReceiver } from "../../runtime/console-receiver.ts";
import { createContainer, type CreateRequest } from "../../runtime/create.ts";
import type { TerminalProxy } from "../../runtime/terminal-proxy.ts";
import { createRequest } from "./create-request.ts";
import type { CommandContext } from "./context.ts";
import { forwardSignals } from "./forward-signals.ts";

export async function run(ctx: CommandContext, extra: Partial<CreateRequest> = {}): Promise<number> {
  const detach = boolOption(ctx.options, "detach");
  const id = ctx.positionals[0]!;
  // Loaded while create waits for the init, not before it is spawned.
  const lifecycle = import("../../runtime/lifecycle.ts");
  // Opened by create only if the config asks for a terminal (a temp dir and a socket cost
  // ~3 ms a run otherwise).
  let receiver: ConsoleReceiver | undefined;
  const ownConsoleSocket = detach || stringOption(ctx.options, "console-socket") ? undefined : () => (receiver ??= openConsoleReceiver()).path;
  let proxy: TerminalProxy | undefined;
  try {
    const { record, child } = await createContainer(ctx.store, { ...createRequest(ctx, !detach), ...extra, ownConsoleSocket });
    const { deleteContainer, startContainer } = await lifecycle;
    const opened = receiver as ConsoleReceiver | undefined;
    const terminal = opened !== undefined && record.config.process?.terminal === true;
    let stopForwarding = () => {};
    try {
      if (terminal) {
        const { attachTerminal } = await import("../../runtime/terminal-proxy.ts");
        proxy = attachTerminal(opened!.take().master, { stdin: true });
      }
      receiver?.close();
      if (!detach) stopForwarding = forwardSignals(record.pid, { terminal });
      startContainer(ctx.store, id, { record, dir: ctx.store.dir(id), status: "created" });
    } catch (err) {
      stopForwarding();
      deleteContainer(ctx.store, id, true);
      throw err;
    }
    if (detach) {
      child.unref();
      return 0;
    }
    await child.exited;
    stopForwarding();
    await proxy?.finish();
    // Its init has exited: stopped, whatever is left in its cgroup.
    if (!boolOption(ctx.options, "keep")) deleteContainer(ctx.store, id, true, { record, dir: ctx.store.dir(id), status: "stopped" });
    return childExitCode(child, 1);
  } finally {
    proxy?.stop();
    receiver?.close();
  }
}
