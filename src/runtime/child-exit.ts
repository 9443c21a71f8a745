// A waited-for child's status as a shell reports it: its exit code, or 128+N when signal N
// killed it. `run`, `exec` and nsinit (relaying the init's end) all exit with it.
import type { Subprocess } from "bun";
import { constants } from "node:os";

export function childExitCode(child: Subprocess, fallback: number): number {
  if (child.signalCode) return 128 + ((constants.signals as Record<string, number>)[child.signalCode] ?? 0);
  return child.exitCode ?? fallback;
}
