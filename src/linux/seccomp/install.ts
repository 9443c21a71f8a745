// Installing a compiled filter in the init, and handing its notify listener to the agent at
// linux.seccomp.listenerPath with the container state (runtime-spec's seccomp state: one
// message, the fd attached as "seccompFd").
import { connectUnix, sendWithFds } from "../../../ffi/unix-socket.ts";
import type { Sys } from "../../../ffi/sys.ts";
import { BuncError, messageOf } from "../../errors.ts";

export interface SeccompPlan {
  /** The BPF program, base64 of struct sock_filter[] in host order. */
  program: string;
  flags: number;
  needsListener: boolean;
  listenerPath?: string;
  listenerMetadata?: string;
}

export interface ListenerState {
  ociVersion: string;
  id: string;
  pid: number;
  bundle: string;
  annotations: Record<string, string>;
}

/** Connect to the agent while its path is still visible (before pivot_root). */
export function connectListener(plan: SeccompPlan): number | undefined {
  if (!plan.needsListener || !plan.listenerPath) return undefined;
  try {
    return connectUnix(plan.listenerPath);
  } catch (err) {
    throw new BuncError("config", `linux.seccomp.listenerPath: no agent at ${plan.listenerPath}: ${messageOf(err)}`);
  }
}

export function installSeccomp(sys: Sys, plan: SeccompPlan, agent: number | undefined, state: ListenerState, status: string): void {
  const listener = sys.seccompSetFilter(plan.flags, Buffer.from(plan.program, "base64"));
  if (agent === undefined) return;
  const message = {
    ociVersion: state.ociVersion,
    fds: ["seccompFd"],
    pid: state.pid,
    metadata: plan.listenerMetadata ?? "",
    state: { ociVersion: state.ociVersion, id: state.id, status, pid: state.pid, bundle: state.bundle, annotations: state.annotations },
  };
  sendWithFds(agent, Buffer.from(JSON.stringify(message)), [listener], plan.listenerPath!);
  // Both are close-on-exec: no close(2) here, which the profile may notify on too.
}
