// The exec stage: single-threaded, already in the container's ipc, uts, net, cgroup and pid
// namespaces (the CLI's main thread joined those before spawning it) and in its cgroup. It
// joins the user and mount namespaces itself (a multi-threaded process may not), then
// applies the process as the init does and execve's it.
import { writeSync } from "node:fs";
import { AT_FDCWD, CLONE, O, PR } from "../../../ffi/constants.ts";
import { linuxSys, type Sys } from "../../../ffi/sys.ts";
import { BuncError, messageOf } from "../../errors.ts";
import { lookPath } from "../../linux/exec-path.ts";
import { connectListener } from "../../linux/seccomp/install.ts";
import { connectConsole, setupConsole } from "../../linux/console.ts";
import { applyIdentity, execInto, seccompStep, stageExitCode, type ProcessSetup } from "./process-setup.ts";
import { receive, send } from "./channel.ts";
import { errorMessage } from "./init.ts";
import type { ExecPlan } from "./plans.ts";
import { relayExec } from "./exec-relay.ts";
import { assertSingleThreaded, STAGE_FD_VAR } from "./stage-env.ts";

export function runExecStage(sys: Sys = linuxSys): never | Promise<never> {
  const stageFd = Number(process.env[STAGE_FD_VAR] ?? 3);
  let plan: ExecPlan;
  let program: string;
  let setup: ProcessSetup;
  try {
    assertSingleThreaded("exec");
    // Not dumpable until execve: container processes cannot ptrace us (CVE-2016-9962).
    sys.prctl(PR.SET_DUMPABLE, 0);
    plan = receive(stageFd, "exec plan") as unknown as ExecPlan;
    if (plan.stageJoins) return relayExec(sys, plan, stageFd).catch((err) => {
      try {
        send(stageFd, errorMessage(err));
      } catch {}
      process.exit(stageExitCode(err, 255));
    });
    const proc = plan.process;
    // Everything on the host side is opened before the mount namespace changes.
    const agent = plan.seccomp && connectListener(plan.seccomp);
    const consoleSocket = plan.consoleSocket === undefined ? undefined : connectConsole(plan.consoleSocket);
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
    let terminal: number | undefined;
    if (consoleSocket !== undefined) {
      const root = sys.openat(AT_FDCWD, "/", O.PATH | O.DIRECTORY | O.CLOEXEC);
      try {
        terminal = setupConsole(sys, root, consoleSocket, proc.consoleSize, plan.consoleSocket!, false);
      } finally {
        sys.close(root);
        sys.close(consoleSocket);
      }
    }
    const state = { ociVersion: plan.ociVersion, id: plan.id, pid: process.pid, bundle: plan.bundle, annotations: plan.annotations };
    setup = { process: proc, preserveFds: plan.preserveFds, setgroupsAllowed: plan.setgroupsAllowed, seccomp: seccompStep(sys, plan.seccomp, agent, state), terminal };
    applyIdentity(sys, setup, "running");
    send(stageFd, { type: "ready" });
  } catch (err) {
    try {
      send(stageFd, errorMessage(err));
    } catch {}
    process.exit(stageExitCode(err, 255));
  }
  try {
    return execInto(sys, setup, program);
  } catch (err) {
    writeSync(2, `bunc: ${messageOf(err)}\n`);
    process.exit(stageExitCode(err, 255));
  }
}
