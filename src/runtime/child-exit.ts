// A waited-for child's status as a shell reports it: its exit code, or 128+N when signal N
// killed it. `run`, `exec` and nsinit (relaying the init's end) all exit with it.
import type { Subprocess } from "bun";
import { SIGNALS } from "../linux/signal-numbers.ts";

export function childExitCode(child: Subprocess, fallback: number): number {
  const signal = child.signalCode;
  if (signal) return 128 + (typeof signal === "number" ? signal : (SIGNALS[signal.replace(/^SIG/, "")] ?? 0));
  return child.exitCode ?? fallback;
}
