// The last steps of every stage that becomes a container process (the init, and exec's):
// identity and privileges first, then signals, fds, seccomp and execve.
import { PR } from "../../../ffi/constants.ts";
import type { Sys } from "../../../ffi/sys.ts";
import type { BuncError } from "../../errors.ts";
import { applyCredentials, applyRlimits } from "../../linux/credentials.ts";
import { installSeccomp, type ListenerState, type SeccompPlan } from "../../linux/seccomp/install.ts";
import type { Process } from "../../spec/runtime-config.ts";

/** Installs the process's filter (if any), reporting `status` to a notify agent. */
export type SeccompStep = (status: string) => void;

export function seccompStep(sys: Sys, plan: SeccompPlan | undefined, agent: number | undefined, state: ListenerState): SeccompStep {
  return (status) => {
    if (plan) installSeccomp(sys, plan, agent, state, status);
  };
}

export interface ProcessSetup {
  process: Process;
  preserveFds: number;
  setgroupsAllowed: boolean;
  seccomp: SeccompStep;
  /** The pty the process gets as its controlling terminal and stdio (process.terminal). */
  terminal?: number;
  /** Already the leader of a session of its own (the init took its pty at create). */
  sessionLeader?: boolean;
}

/**
 * rlimits, identity and privileges, as runc applies them: the init does it before {ready},
 * so a set the kernel refuses (a capability outside our bounding set, say) fails `create`,
 * not `start`. Without no_new_privs a filter needs CAP_SYS_ADMIN: it goes in here, while we
 * have it, after our fds are marked close-on-exec (a profile need not allow close_range).
 */
export function applyIdentity(sys: Sys, s: ProcessSetup, status: string): void {
  const proc = s.process;
  applyRlimits(sys, proc.rlimits ?? []);
  if (!proc.noNewPrivileges) {
    sys.closeFromOnExec(3 + s.preserveFds);
    sys.keepAcrossExec(s.preserveFds);
    s.seccomp(status);
  }
  const user = proc.user ?? { uid: 0, gid: 0 };
  applyCredentials(sys, user, proc.capabilities, s.setgroupsAllowed);
  sys.umask(user.umask ?? 0o022);
  if (proc.noNewPrivileges) sys.prctl(PR.SET_NO_NEW_PRIVS, 1);
}

/** Signals, fds, and with no_new_privs the filter as the very last step; then execve. */
export function execInto(sys: Sys, s: ProcessSetup, program: string): never {
  // Every container process leads a session of its own, as runc's do: clients signal its
  // process group (conmon's --timeout kills -pgid), which must not be the caller's.
  if (s.terminal !== undefined) sys.takeTerminal(s.terminal);
  else if (!s.sessionLeader) sys.newSession();
  sys.resetSignals();
  // Without no_new_privs this was done before the filter went in (everything opened since
  // is close-on-exec already).
  if (s.process.noNewPrivileges) {
    sys.closeFromOnExec(3 + s.preserveFds);
    sys.keepAcrossExec(s.preserveFds);
    s.seccomp("running");
  }
  return sys.execve(program, s.process.args!, s.process.env ?? []);
}

/** A stage's exit code: 127/126 for the program, else `fallback` (1 for create, 255 for exec). */
export function stageExitCode(err: unknown, fallback: number): number {
  const code = (err as BuncError).code;
  return code === "exec-not-found" ? 127 : code === "exec-denied" ? 126 : fallback;
}
