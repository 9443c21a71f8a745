// Rootless `exec`: the CLI, a plain user, may not setns into namespaces its container's
// user namespace owns (setns also wants CAP_SYS_ADMIN where the caller is, and to come
// back). So the exec stage does it: it joins the user namespace first, which gives it
// every capability there, then the container's ipc, uts, net, cgroup and pid namespaces
// (only those that differ from ours: a namespace the container shares with the host, the
// host's user namespace owns), and spawns the exec stage proper, which the pid namespace
// only applies to. It relays the plan and the answer, then the process's exit.
//
//   CLI ── plan ──▶ relay: setns(user, others), spawn ── plan ──▶ exec stage: mnt, execve
//   CLI ◀── ready (pid of the exec stage) ── relay ◀── ready ──
import { childExitCode } from "../child-exit.ts";
import { AT_FDCWD, O } from "../../../ffi/constants.ts";
import { closeFd, socketPair } from "../../../ffi/io.ts";
import type { Sys } from "../../../ffi/sys.ts";
import { NAMESPACE_FLAGS, NAMESPACE_PROC_NAMES, type NamespaceType } from "../../linux/namespaces.ts";
import { receive, send } from "./channel.ts";
import type { ExecPlan } from "./plans.ts";
import { stageCommand, stageEnv } from "./stage-env.ts";

export async function relayExec(sys: Sys, plan: ExecPlan, stageFd: number): Promise<never> {
  const joins = plan.stageJoins ?? [];
  const ordered: NamespaceType[] = ["user", ...joins.filter((t) => t !== "user")];
  const fds = ordered.map((t) => sys.openat(AT_FDCWD, `/proc/${plan.initPid}/ns/${NAMESPACE_PROC_NAMES[t]}`, O.RDONLY | O.CLOEXEC));
  ordered.forEach((t, i) => sys.setns(fds[i]!, NAMESPACE_FLAGS[t], `the container's ${t} namespace`));
  for (const fd of fds) sys.close(fd);
  const [mine, theirs] = socketPair();
  const stdio = ["inherit", "inherit", "inherit", ...Array.from({ length: plan.preserveFds }, (_, i) => 3 + i), theirs, stageFd + 1];
  const inner = Bun.spawn({ cmd: stageCommand(stageFd + 1), env: stageEnv("exec", stageFd), stdio: stdio as never, cwd: "/" });
  closeFd(theirs);
  send(mine, { ...plan, stageJoins: undefined, joinUser: false } as never);
  const answer = receive(mine, "the exec stage");
  send(stageFd, answer.type === "ready" ? { ...answer, pid: inner.pid } : answer);
  await inner.exited;
  process.exit(childExitCode(inner, 255));
}
