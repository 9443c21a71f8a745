// The init stage: PID 1 of the container, single-threaded. It receives the InitPlan, builds
// the container (namespaces, mounts, hooks, hostname, sysctl, cwd, pivot), checks the program
// exists, takes its pty (process.terminal) as stdio and controlling terminal, applies rlimits,
// credentials and capabilities, answers {ready}, then blocks on exec.fifo until `start`, runs
// the startContainer hooks, resets signals, marks every fd of its own close-on-exec, installs
// seccomp and execve's the process, which so stays PID 1.
import { writeFd, writeTextFile } from "../../../ffi/files.ts";
import { AT_FDCWD, O, PR } from "../../../ffi/constants.ts";
import { linuxSys, type Sys } from "../../../ffi/sys.ts";
import { BuncError, messageOf } from "../../errors.ts";
import { lookPath } from "../../linux/exec-path.ts";
import { enterNamespaces, has, namespaceSet, openNamespace, type NamespaceSet, type NamespaceType } from "../../linux/namespaces.ts";
import { setupRootfs } from "../../linux/rootfs.ts";
import { connectListener } from "../../linux/seccomp/install.ts";
import { connectConsole, setupConsole } from "../../linux/console.ts";
import { applyIdentity, execInto, seccompStep, stageExitCode, type ProcessSetup } from "./process-setup.ts";
import { expect, receive, send } from "./channel.ts";
import { receiveWithFds } from "../../../ffi/unix-socket.ts";
import { hasHooks, hookState, runHooks } from "../hooks.ts";
import { INIT_NAMESPACES, type InitPlan } from "./plans.ts";
import { assertSingleThreaded, STAGE_FD_VAR } from "./stage-env.ts";

export function errorMessage(err: unknown) {
  const e = err instanceof BuncError ? err : undefined;
  return { type: "error", message: messageOf(err), code: e?.code ?? "stage", errno: e?.errno };
}

/**
 * The hooks due once the mounts are in place: prestart and createRuntime run by the CLI in
 * the runtime's namespaces (we ask and wait), then createContainer here, in the container's.
 */
function createHooks(plan: InitPlan, stageFd: number): void {
  const config = plan.config;
  if (hasHooks(config, "prestart") || hasHooks(config, "createRuntime")) {
    send(stageFd, { type: "hooks", phase: "createRuntime" });
    expect(stageFd, "hooks-done", "the runtime's hooks");
  }
  runHooks(config, "createContainer", hookState(config, plan.id, "created", plan.hostPid, plan.bundle));
}

/** Everything up to {ready}: returns the resolved program path, and the terminal if any. */
export function prepareContainer(sys: Sys, plan: InitPlan, stageFd = 3, consoleSocket?: number): { program: string; terminal?: number } {
  const config = plan.config;
  const proc = config.process!;
  if (proc.oomScoreAdj !== undefined) {
    try {
      writeTextFile("/proc/self/oom_score_adj", String(proc.oomScoreAdj));
    } catch (err) {
      throw new BuncError("system", `process.oomScoreAdj: cannot write ${proc.oomScoreAdj} to /proc/self/oom_score_adj: ${messageOf(err)}`);
    }
  }

  const entries = config.linux?.namespaces ?? [];
  const open = (set: NamespaceSet) =>
    set.join.map((entry) =>
      openNamespace(sys, entry, `linux.namespaces[${entries.findIndex((e) => e.type === entry.type)}].path`, (p) =>
        sys.openat(AT_FDCWD, p, O.RDONLY | O.CLOEXEC),
      ),
    );
  // The cgroup namespace must be made once we are in the container's cgroup: with the CLI
  // placing us while we work, it waits for {placed}.
  const early = INIT_NAMESPACES.filter((t) => !(plan.placedLater && t === "cgroup")) as NamespaceType[];
  const set = namespaceSet(plan.namespaces, early);
  const cgroupSet = namespaceSet(plan.namespaces, plan.placedLater ? ["cgroup"] : []);
  const cgroupFds = open(cgroupSet);
  enterNamespaces(sys, set, open(set));
  let placed = !plan.placedLater;
  let terminal: number | undefined;
  const ensurePlaced = () => {
    if (placed) return;
    expect(stageFd, "placed", "the CLI to put the init in its cgroup");
    enterNamespaces(sys, cgroupSet, cgroupFds);
    placed = true;
  };
  if (!plan.noNewKeyring) sys.joinSessionKeyring(`_ses.${plan.id}`);

  setupRootfs(sys, {
    rootfs: plan.rootfs,
    bundle: plan.bundle,
    mounts: config.mounts ?? [],
    readonly: config.root?.readonly ?? false,
    rootfsPropagation: config.linux?.rootfsPropagation || undefined,
    noPivot: plan.noPivot,
    devices: config.linux?.devices ?? [],
    maskedPaths: config.linux?.maskedPaths ?? [],
    readonlyPaths: config.linux?.readonlyPaths ?? [],
    userns: plan.userns,
    mountNamespace: has(entries, "mount"),
    cwd: proc.cwd || "/",
    sysctl: config.linux?.sysctl ?? {},
    cgroupDirs: has(entries, "cgroup") ? undefined : plan.cgroupDirs,
    beforeCgroupMount: ensurePlaced,
    beforePivot: () => {
      ensurePlaced();
      createHooks(plan, stageFd);
      if (consoleSocket !== undefined) {
        const rootFd = sys.openat(AT_FDCWD, plan.rootfs, O.PATH | O.DIRECTORY | O.CLOEXEC);
        try {
          terminal = setupConsole(sys, rootFd, consoleSocket, proc.consoleSize, plan.consoleSocket!);
        } finally {
          sys.close(rootFd);
          sys.close(consoleSocket);
        }
      }
    },
  });
  if (config.hostname !== undefined) sys.sethostname(config.hostname);
  if (config.domainname !== undefined) sys.setdomainname(config.domainname);
  sys.chdir(proc.cwd || "/");
  return { program: lookPath(proc.args![0]!, proc.env ?? []), terminal };
}

export function runInit(sys: Sys = linuxSys): never {
  const stageFd = Number(process.env[STAGE_FD_VAR] ?? 3);
  let plan: InitPlan;
  let fifoFd: number;
  let program: string;
  let procFdDir: number;
  let setup: ProcessSetup;
  try {
    assertSingleThreaded("init");
    // Not dumpable: a container process cannot ptrace us or open our /proc/<pid>/ files.
    sys.prctl(PR.SET_DUMPABLE, 0);
    plan = receive(stageFd, "init plan") as unknown as InitPlan;
    // exec.fifo comes next, and the network namespace when the CLI made it: one byte
    // carrying their fds (stage-start.ts's sendFds).
    const fds = receiveWithFds(stageFd, 1, 2).fds;
    if (fds.length !== (plan.networkFromCli ? 2 : 1)) throw new BuncError("stage", "exec.fifo did not come with the init plan");
    fifoFd = fds[0]!;
    if (plan.networkFromCli) plan.namespaces = plan.namespaces.map((e) => (e.type === "network" ? { type: "network", path: `/proc/self/fd/${fds[1]}` } : e));
    // The fifo is reopened for writing through our own /proc/self/fd: keep a handle on that
    // directory from the host's procfs, which the pivot is about to hide.
    procFdDir = sys.openat(AT_FDCWD, "/proc/self/fd", O.PATH | O.DIRECTORY | O.CLOEXEC);
    const agent = plan.seccomp && connectListener(plan.seccomp);
    const annotations = (plan.config.annotations ?? {}) as Record<string, string>;
    const state = { ociVersion: plan.config.ociVersion, id: plan.id, pid: plan.hostPid, bundle: plan.bundle, annotations };
    setup = {
      process: plan.config.process!,
      preserveFds: plan.preserveFds,
      setgroupsAllowed: plan.setgroupsAllowed,
      seccomp: seccompStep(sys, plan.seccomp, agent, state),
    };
    const consoleSocket = plan.consoleSocket === undefined ? undefined : connectConsole(plan.consoleSocket);
    sys.umask(0);
    const prepared = prepareContainer(sys, plan, stageFd, consoleSocket);
    program = prepared.program;
    // The pty becomes our stdio now, as runc's init does: what we inherited from `create`
    // (a client's output pipe) must not stay open until `start`, or a client that reads
    // create's output to EOF, as containerd's shim does with a terminal, waits for ever.
    if (prepared.terminal !== undefined) {
      sys.takeTerminal(prepared.terminal);
      sys.close(prepared.terminal);
      setup.sessionLeader = true;
    }
    applyIdentity(sys, setup, "creating");
    send(stageFd, { type: "ready" });
  } catch (err) {
    try {
      send(stageFd, errorMessage(err));
    } catch {}
    process.exit(stageExitCode(err, 1));
  }
  // `start` speaks with us through exec.fifo: its open for reading releases ours for writing;
  // we answer "0" once the startContainer hooks passed, or "E" and the reason; our end is
  // close-on-exec, so `start` sees EOF exactly when the process has been exec'd (or we died).
  let fifo: number | undefined;
  try {
    fifo = sys.openat(procFdDir, String(fifoFd), O.WRONLY | O.CLOEXEC);
    sys.close(procFdDir);
    sys.close(fifoFd);
    runHooks(plan.config, "startContainer", hookState(plan.config, plan.id, "created", plan.hostPid, plan.bundle));
    writeFd(fifo, "0");
    return execInto(sys, setup, program);
  } catch (err) {
    const message = `bunc: ${messageOf(err)}\n`;
    try {
      if (fifo !== undefined) writeFd(fifo, `E${message}`);
    } catch {}
    writeFd(2, message);
    process.exit(stageExitCode(err, 1));
  }
}
