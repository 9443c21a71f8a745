// The exec stage: single-threaded, already in the container's ipc, uts, net, cgroup and pid
// namespaces (the CLI's main thread joined those before spawning it) and in its cgroup. It
// joins the user and mount namespaces itself (a multi-threaded process may not), then
// applies the process as the init does and execve's it.
import { writeSync } from "node:fs";
import { AT_FDCWD, CLONE, O, PR } from "../../../ffi/constants.ts";
import { linuxSys, type Sys } from "../../../ffi/sys.ts";
import { BuncError, messageOf } from "../../errors.ts";
import { applyCredentials, applyRlimits } from "../../linux/credentials.ts";
import { lookPath } from "../../linux/exec-path.ts";
import { connectListener, installSeccomp } from "../../linux/seccomp/install.ts";
import { receive, send } from "./channel.ts";
import { errorMessage } from "./init.ts";
import type { ExecPlan } from "./plans.ts";
import { assertSingleThreaded, STAGE_FD_VAR } from "./stage-env.ts";

const exitCodeFor = (err: unknown) => {
  const code = (err as BuncError).code;
  return code === "exec-not-found" ? 127 : code === "exec-denied" ? 126 : 255;
};

export function runExecStage(sys: Sys = linuxSys): never {
  const stageFd = Number(process.env[STAGE_FD_VAR] ?? 3);
  let plan: ExecPlan;
  let program: string;
  let seccomp: (status: string) => void;
  try {
    assertSingleThreaded("exec");
    // Not dumpable until execve: container processes cannot ptrace us (CVE-2016-9962).
    sys.prctl(PR.SET_DUMPABLE, 0);
    plan = receive(stageFd, "exec plan") as unknown as ExecPlan;
    const proc = plan.process;
    // Everything on the host side is opened before the mount namespace changes.
    const agent = plan.seccomp && connectListener(plan.seccomp);
    const userFd = plan.joinUser ? sys.openat(AT_FDCWD, `/proc/${plan.initPid}/ns/user`, O.RDONLY | O.CLOEXEC) : undefined;
    const mntFd = sys.openat(AT_FDCWD, `/proc/${plan.initPid}/ns/mnt`, O.RDONLY | O.CLOEXEC);
    if (userFd !== undefined) sys.setns(userFd, CLONE.NEWUSER, "the container's user namespace");
    sys.setns(mntFd, CLONE.NEWNS, "the container's mount namespace");
    if (userFd !== undefined) sys.close(userFd);
    sys.close(mntFd);
    try {
      sys.chdir(proc.cwd || "/");
    } catch (err) {
      throw new BuncError("config", `process.cwd: ${proc.cwd}: ${messageOf(err)}`);
    }
    program = lookPath(proc.args![0]!, proc.env ?? []);
    seccomp = (status) =>
      plan.seccomp &&
      installSeccomp(sys, plan.seccomp, agent, { ociVersion: plan.ociVersion, id: plan.id, pid: process.pid, bundle: plan.bundle, annotations: plan.annotations }, status);
    applyRlimits(sys, proc.rlimits ?? []);
    if (!proc.noNewPrivileges) {
      sys.closeFromOnExec(3 + plan.preserveFds);
      seccomp("running");
    }
    const user = proc.user ?? { uid: 0, gid: 0 };
    applyCredentials(sys, user, proc.capabilities, plan.setgroupsAllowed);
    sys.umask(user.umask ?? 0o022);
    if (proc.noNewPrivileges) sys.prctl(PR.SET_NO_NEW_PRIVS, 1);
    send(stageFd, { type: "ready" });
  } catch (err) {
    try {
      send(stageFd, errorMessage(err));
    } catch {}
    process.exit(exitCodeFor(err));
  }
  try {
    sys.resetSignals();
    if (plan.process.noNewPrivileges) {
      sys.closeFromOnExec(3 + plan.preserveFds);
      seccomp("running");
    }
    return sys.execve(program, plan.process.args!, plan.process.env ?? []);
  } catch (err) {
    writeSync(2, `bunc: ${messageOf(err)}\n`);
    process.exit(exitCodeFor(err));
  }
}
