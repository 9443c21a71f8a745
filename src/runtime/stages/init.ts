// The init stage: PID 1 of the container, single-threaded. It receives the InitPlan, builds
// the container (namespaces, rootfs, hostname, sysctl, cwd), checks the program exists,
// answers {ready}, then blocks on exec.fifo until `start`, applies rlimits, credentials and
// capabilities, resets signals, marks every fd of its own close-on-exec, and execve's the
// process, which so stays PID 1.
import { writeFileSync, writeSync } from "node:fs";
import { AT_FDCWD, O, PR } from "../../../ffi/constants.ts";
import { linuxSys, type Sys } from "../../../ffi/sys.ts";
import { BuncError, messageOf } from "../../errors.ts";
import { applyCredentials, applyRlimits } from "../../linux/credentials.ts";
import { lookPath } from "../../linux/exec-path.ts";
import { enterNamespaces, has, namespaceSet, openNamespace, type NamespaceType } from "../../linux/namespaces.ts";
import { setupRootfs } from "../../linux/rootfs.ts";
import { connectListener, installSeccomp } from "../../linux/seccomp/install.ts";
import { expect, receive, send } from "./channel.ts";
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

/** Everything up to {ready}: returns the resolved program path. */
export function prepareContainer(sys: Sys, plan: InitPlan, stageFd = 3): string {
  const config = plan.config;
  const proc = config.process!;
  if (proc.oomScoreAdj !== undefined) {
    try {
      writeFileSync("/proc/self/oom_score_adj", String(proc.oomScoreAdj));
    } catch (err) {
      throw new BuncError("system", `process.oomScoreAdj: cannot write ${proc.oomScoreAdj} to /proc/self/oom_score_adj: ${messageOf(err)}`);
    }
  }

  const entries = config.linux?.namespaces ?? [];
  const set = namespaceSet(plan.namespaces, [...INIT_NAMESPACES] as NamespaceType[]);
  const fds = set.join.map((entry) =>
    openNamespace(sys, entry, `linux.namespaces[${entries.findIndex((e) => e.type === entry.type)}].path`, (p) =>
      sys.openat(AT_FDCWD, p, O.RDONLY | O.CLOEXEC),
    ),
  );
  enterNamespaces(sys, set, fds);
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
    beforePivot: () => createHooks(plan, stageFd),
  });
  if (config.hostname !== undefined) sys.sethostname(config.hostname);
  if (config.domainname !== undefined) sys.setdomainname(config.domainname);
  sys.chdir(proc.cwd || "/");
  return lookPath(proc.args![0]!, proc.env ?? []);
}

/** Installs the config's filter (if any), reporting `status` to a notify agent. */
type SeccompStep = (status: string) => void;

function seccompInstaller(sys: Sys, plan: InitPlan, agent: number | undefined): SeccompStep {
  return (status) =>
    plan.seccomp &&
    installSeccomp(sys, plan.seccomp, agent, {
      ociVersion: plan.config.ociVersion,
      id: plan.id,
      pid: plan.hostPid,
      bundle: plan.bundle,
      annotations: (plan.config.annotations ?? {}) as Record<string, string>,
    }, status);
}

/**
 * Before {ready}: rlimits, identity and privileges, as runc applies them, so a config the
 * kernel refuses (a capability outside our bounding set, say) fails `create`, not `start`.
 * Without no_new_privs a filter needs CAP_SYS_ADMIN: it is installed here, while we have it,
 * after our fds are marked close-on-exec (a profile need not allow close_range).
 */
export function applyProcessIdentity(sys: Sys, plan: InitPlan, seccomp: SeccompStep): void {
  const proc = plan.config.process!;
  applyRlimits(sys, proc.rlimits ?? []);
  if (!proc.noNewPrivileges) {
    sys.closeFromOnExec(3 + plan.preserveFds);
    seccomp("creating");
  }
  const user = proc.user ?? { uid: 0, gid: 0 };
  applyCredentials(sys, user, proc.capabilities, plan.setgroupsAllowed);
  sys.umask(user.umask ?? 0o022);
  if (proc.noNewPrivileges) sys.prctl(PR.SET_NO_NEW_PRIVS, 1);
}

/** From start to execve; with no_new_privs the filter is the very last step. Never returns. */
export function execProcess(sys: Sys, plan: InitPlan, program: string, seccomp: SeccompStep): never {
  const proc = plan.config.process!;
  sys.resetSignals();
  // Without no_new_privs this was done before the filter went in (everything opened since
  // is close-on-exec already).
  if (proc.noNewPrivileges) {
    sys.closeFromOnExec(3 + plan.preserveFds);
    seccomp("running");
  }
  return sys.execve(program, proc.args!, proc.env ?? []);
}

const exitCodeFor = (err: unknown) => {
  const code = (err as BuncError).code;
  return code === "exec-not-found" ? 127 : code === "exec-denied" ? 126 : 1;
};

export function runInit(sys: Sys = linuxSys): never {
  const stageFd = Number(process.env[STAGE_FD_VAR] ?? 3);
  let plan: InitPlan;
  let program: string;
  let procFdDir: number;
  let seccomp: SeccompStep;
  try {
    assertSingleThreaded("init");
    // Not dumpable: a container process cannot ptrace us or open our /proc/<pid>/ files.
    sys.prctl(PR.SET_DUMPABLE, 0);
    plan = receive(stageFd, "init plan") as unknown as InitPlan;
    // The fifo is reopened for writing through our own /proc/self/fd: keep a handle on that
    // directory from the host's procfs, which the pivot is about to hide.
    procFdDir = sys.openat(AT_FDCWD, "/proc/self/fd", O.PATH | O.DIRECTORY | O.CLOEXEC);
    seccomp = seccompInstaller(sys, plan, plan.seccomp && connectListener(plan.seccomp));
    sys.umask(0);
    program = prepareContainer(sys, plan, stageFd);
    applyProcessIdentity(sys, plan, seccomp);
    send(stageFd, { type: "ready" });
  } catch (err) {
    try {
      send(stageFd, errorMessage(err));
    } catch {}
    process.exit(exitCodeFor(err));
  }
  // `start` speaks with us through exec.fifo: its open for reading releases ours for writing;
  // we answer "0" once the startContainer hooks passed, or "E" and the reason; our end is
  // close-on-exec, so `start` sees EOF exactly when the process has been exec'd (or we died).
  let fifo: number | undefined;
  try {
    fifo = sys.openat(procFdDir, String(plan.fifoFd), O.WRONLY | O.CLOEXEC);
    sys.close(procFdDir);
    sys.close(plan.fifoFd);
    runHooks(plan.config, "startContainer", hookState(plan.config, plan.id, "created", plan.hostPid, plan.bundle));
    writeSync(fifo, "0");
    return execProcess(sys, plan, program, seccomp);
  } catch (err) {
    const message = `bunc: ${messageOf(err)}\n`;
    try {
      if (fifo !== undefined) writeSync(fifo, `E${message}`);
    } catch {}
    writeSync(2, message);
    process.exit(exitCodeFor(err));
  }
}
