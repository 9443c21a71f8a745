// `exec ID CMD…` or `exec -p process.json ID`: runs a new process in a running container and,
// unless detached, waits for it, forwarding signals, exiting with its code (128+N when a
// signal N killed it). bunc's own failures exit 255 (see cli/main.ts).
import { boolOption, intOption, listOption, stringOption } from "../args.ts";
import { writePidFile } from "../../runtime/create.ts";
import { execInContainer } from "../../runtime/exec.ts";
import { BuncError } from "../../errors.ts";
import { childExitCode } from "../../runtime/child-exit.ts";
import type { CommandContext } from "./context.ts";
import { sendSignal } from "../../../ffi/io.ts";
import { forwardSignals } from "./forward-signals.ts";
import { openConsoleReceiver, type ConsoleReceiver } from "../../runtime/console-receiver.ts";
import { attachTerminal, callerWindowSize, type TerminalProxy } from "../../runtime/terminal-proxy.ts";

export async function exec(ctx: CommandContext): Promise<number> {
  const o = ctx.options;
  if (listOption(o, "cgroup").length) throw new BuncError("unsupported", "exec --cgroup: sub-cgroups are not supported yet");
  if (stringOption(o, "pidfd-socket")) throw new BuncError("unsupported", "exec --pidfd-socket is not supported yet");
  const detach = boolOption(o, "detach");
  // With --tty and no --console-socket, a foreground exec attaches the pty to its own stdio.
  const receiver: ConsoleReceiver | undefined = detach || stringOption(o, "console-socket") ? undefined : openConsoleReceiver();
  let proxy: TerminalProxy | undefined;
  try {
    return await execAttached(ctx, receiver, (p) => (proxy = p));
  } finally {
    proxy?.stop();
    receiver?.close();
  }
}

async function execAttached(ctx: CommandContext, receiver: ConsoleReceiver | undefined, attached: (p: TerminalProxy) => void): Promise<number> {
  const o = ctx.options;
  const { child, pid, terminal } = await execInContainer(ctx.store, {
    id: ctx.positionals[0]!,
    flags: {
      processFile: stringOption(o, "process"),
      args: ctx.positionals.slice(1),
      cwd: stringOption(o, "cwd"),
      env: listOption(o, "env"),
      user: stringOption(o, "user"),
      additionalGids: listOption(o, "additional-gids"),
      caps: listOption(o, "cap"),
      noNewPrivs: boolOption(o, "no-new-privs"),
      apparmor: stringOption(o, "apparmor"),
      processLabel: stringOption(o, "process-label"),
      tty: boolOption(o, "tty"),
    },
    preserveFds: intOption("preserve-fds", o["preserve-fds"]) ?? 0,
    ignorePaused: boolOption(o, "ignore-paused"),
    consoleSocket: stringOption(o, "console-socket"),
    ownConsoleSocket: receiver?.path,
    ownConsoleSize: receiver ? consoleSizeOf(callerWindowSize()) : undefined,
  });
  let proxy: TerminalProxy | undefined;
  if (receiver && terminal) {
    try {
      proxy = attachTerminal(receiver.take().master, { stdin: true });
      attached(proxy);
    } catch (err) {
      // The process runs already: without its terminal it must not be left behind.
      sendSignal(pid, 9);
      await child.exited;
      throw err;
    }
  }
  receiver?.close();
  const pidFile = stringOption(o, "pid-file");
  if (pidFile) writePidFile(pidFile, pid);
  if (boolOption(o, "detach")) {
    child.unref();
    return 0;
  }
  const stopForwarding = forwardSignals(pid, { terminal: proxy !== undefined });
  await child.exited;
  stopForwarding();
  await proxy?.finish();
  return childExitCode(child, 255);
}

const consoleSizeOf = (size: { rows: number; cols: number } | undefined) => (size ? { height: size.rows, width: size.cols } : undefined);
