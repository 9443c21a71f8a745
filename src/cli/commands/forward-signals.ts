// A foreground `run` or `exec` passes on the signals a shell or supervisor sends it, so the
// container's process sees them as if it had been started directly.
import { sendSignal } from "../../../ffi/io.ts";
import { SIGNALS } from "../../linux/signal-numbers.ts";

const FORWARDED = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGCONT"] as const;

/**
 * Forward to `pid` until the returned function is called. With an attached terminal,
 * SIGWINCH is not passed on: resizing the pty signals the process itself.
 */
export function forwardSignals(pid: number, options: { terminal?: boolean } = {}): () => void {
  const names = FORWARDED.filter((name) => !(options.terminal && name === "SIGWINCH"));
  const handlers = names.map((name) => [name, () => sendSignal(pid, SIGNALS[name.slice(3)]!)] as const);
  for (const [name, h] of handlers) process.on(name, h);
  return () => {
    for (const [name, h] of handlers) process.off(name, h);
  };
}
