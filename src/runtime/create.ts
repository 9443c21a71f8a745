// `create`, CLI side: start the first stage (stage-start.ts: the id claimed, exec.fifo made,
// the init in its pid namespace), check the config while it boots, hand it the plan, wait
// for {ready}, record the state.
// Any failure kills what was started and removes the state dir: a failed create leaves
// nothing behind.
import type { Subprocess } from "bun";
import { userName } from "../linux/subids.ts";
import { isAbsolutePath as isAbsolute, joinPath as join, resolvePath as resolve } from "../linux/posix-path.ts";
import { nodeFs } from "../node-fs.ts";
import { closeFd, sendSignal } from "../../ffi/io.ts";
import { BuncError, configError, messageOf } from "../errors.ts";
import { has, isNew } from "../linux/namespaces.ts";
import type { Spec } from "../spec/runtime-config.ts";
import { log } from "../log.ts";
import { ambientWarning, unraisableAmbient } from "../linux/capabilities.ts";
import { checkSysctlNamespaces } from "../linux/sysctl.ts";
import { endWarmUp } from "../linux/cgroups/migration-warmup.ts";
import type { CgroupRecord } from "../linux/cgroups/cgroup.ts";
type Setup = typeof import("./create-setup.ts");
import { readProcStat } from "./proc-stat.ts";
import { expect, receiveChecked, send } from "./stages/channel.ts";
import { INIT_NAMESPACES, SPAWNER_NAMESPACES, type InitPlan, type NsinitPlan } from "./stages/plans.ts";
import { abandonStage, sendFds, stageFits, startStage, type StartedStage } from "./stage-start.ts";
import { newNetworkNamespace } from "./stages/spawn-in-namespaces.ts";
import type { ContainerRecord, StateStore } from "./state-store.ts";
import { refuseUnsupported } from "./unsupported.ts";
import { activationEnv } from "./socket-activation.ts";
import { admitUserNamespaceRoot } from "./console-receiver.ts";

export interface CreateRequest {
  id: string;
  bundle: string;
  /** The process's stdin, stdout and stderr as fds of bunc's, when not bunc's own 0, 1, 2. */
  stdio?: readonly [number, number, number];
  pidFile?: string;
  consoleSocket?: string;
  /**
   * Opens a console socket bunc listens on itself and returns its path: called only when
   * the config asks for a terminal and no consoleSocket is given.
   */
  ownConsoleSocket?: () => string;
  preserveFds: number;
  /** Socket-activation fds (from 3 up) to pass on before the preserved ones. */
  listenFds?: number;
  noPivot: boolean;
  noNewKeyring: boolean;
  /** `run` in the foreground: the returned child's exit is the container's exit. */
  foreground: boolean;
  /** Rootless: cgroups only where delegated to the caller (runtime/container-cgroup.ts). */
  rootless?: boolean;
  /** The stage the CLI started early for this request (stage-start.ts), if it did. */
  stage?: StartedStage;
}

export interface Created {
  record: ContainerRecord;
  /** The process the CLI spawned: the init, or nsinit relaying the init's exit. */
  child: Subprocess;
}

const READY_TIMEOUT_MS = 60_000;
const STAGE_TIMEOUT_MS = 10_000;

export function checkCreatable(config: Spec, consoleSocket?: string): void {
  if (!config.process) throw configError("process", "is required to create a container");
  if (!config.root?.path) throw configError("root.path", "is required");
  refuseUnsupported(config, consoleSocket);
  checkSysctlNamespaces(config.linux?.sysctl ?? {}, config.linux?.namespaces ?? []);
}

export async function createContainer(store: StateStore, request: CreateRequest): Promise<Created> {
  // Socket-activation fds come first, then --preserve-fds: all of them pass through from 3 up.
  const req = { ...request, preserveFds: request.preserveFds + (request.listenFds ?? 0) };
  const stageRequest = { id: req.id, bundle: req.bundle, stdio: req.stdio, preserveFds: req.preserveFds };
  let stage = request.stage;
  if (stage && !stageFits(stage, stageRequest)) {
    abandonStage(store, stage);
    stage = undefined;
  }
  stage ??= startStage(store, stageRequest);
  stage.taken = true;
  const { bundle, text, file, entries, userns, cliSock, opened, child } = stage;
  let initPid = 0;
  let config: Spec | undefined;
  let setup: Setup | undefined;
  let cgroup: CgroupRecord | undefined;
  let setgroupsAllowed = true;
  let networkFd: number | undefined;
  try {
    // While the stage boots, load the schemas and the rest of create, and check the config.
    const [{ parseConfig }, loaded] = await Promise.all([import("../spec/validate-config.ts"), import("./create-setup.ts")]);
    setup = loaded;
    config = parseConfig(text, file);
    if (request.listenFds) config.process!.env = [...(config.process!.env ?? []), ...activationEnv(request.listenFds)];
    const own = req.consoleSocket === undefined && config.process?.terminal ? req.ownConsoleSocket?.() : undefined;
    const consoleSocket = req.consoleSocket ?? own;
    checkCreatable(config, consoleSocket);
    for (const name of unraisableAmbient(config.process?.capabilities)) log("warning", ambientWarning(name));
    // Compiled here, not in the init: the init then loads neither the compiler nor the tables.
    const seccomp = config.linux?.seccomp ? await setup.compiledSeccomp(store.root, config.linux.seccomp) : undefined;
    const rootfs = isAbsolute(config.root!.path) ? config.root!.path : join(bundle, config.root!.path);
    // A new network namespace takes the kernel ~1 ms to make: the CLI makes it while the init
    // boots, and the init joins it. Not with a user namespace, which must own it.
    if (!userns && isNew(entries, "network")) {
      networkFd = newNetworkNamespace();
      opened.push(networkFd);
    }

    if (userns) {
      const plan: NsinitPlan = {
        type: "nsinit",
        namespaces: entries.filter((e) => (SPAWNER_NAMESPACES as readonly string[]).includes(e.type)),
        relay: req.foreground,
        preserveFds: req.preserveFds,
      };
      send(cliSock, plan as never);
      expect(cliSock, "userns-ready", "nsinit to enter the user namespace", STAGE_TIMEOUT_MS);
      if (!entries.find((e) => e.type === "user")?.path) {
        setgroupsAllowed = setup.writeIdMaps(child.pid, config.linux?.uidMappings ?? [], config.linux?.gidMappings ?? []);
      }
      send(cliSock, { type: "maps-written" });
      initPid = Number(expect(cliSock, "init-pid", "nsinit to start the init", STAGE_TIMEOUT_MS).pid);
    } else {
      initPid = child.pid;
    }

    const stat = readProcStat(initPid);
    if (!stat) throw new BuncError("stage", "the init exited before it was given its plan");
    // The init sets up the container while its cgroup is made, limited and joined; it waits
    // for {placed} before anything the cgroup governs: its cgroup namespace, cgroup mounts,
    // hooks, the process.
    cgroup = setup.planContainerCgroup(config, req.id, req.rootless ?? false);
    const plan: InitPlan = {
      type: "init",
      id: req.id,
      // The profile is compiled already (plan.seccomp): the init need not parse ~30 KB of it.
      config: config.linux?.seccomp ? { ...config, linux: { ...config.linux, seccomp: undefined } } : config,
      bundle,
      rootfs,
      noPivot: req.noPivot,
      noNewKeyring: req.noNewKeyring,
      preserveFds: req.preserveFds,
      userns,
      setgroupsAllowed,
      namespaces: entries.filter((e) => (INIT_NAMESPACES as readonly string[]).includes(e.type)),
      seccomp,
      cgroupDirs: cgroup?.dirs,
      consoleSocket: consoleSocket === undefined ? undefined : resolve(consoleSocket),
      placedLater: true,
      hostPid: initPid,
      networkFromCli: networkFd !== undefined,
    };
    // bunc's own console socket is root's alone: an init in a user namespace is let in.
    if (userns && own !== undefined) admitUserNamespaceRoot(own, initPid);
    send(cliSock, plan as never);
    sendFds(stage, networkFd);
    try {
      if (cgroup) {
        setup.createCgroup(cgroup);
        setup.applyResources(cgroup, config.linux?.resources ?? {});
        setup.addProcess(cgroup, initPid);
        endWarmUp();
      }
      send(cliSock, { type: "placed" });
    } catch (err) {
      // The init may have failed first: its own word, if it sent one, is the better error.
      try {
        receiveChecked(cliSock, "the init", 200);
      } catch (initError) {
        if (initError instanceof BuncError && initError.code !== "stage") throw initError;
      }
      throw err;
    }
    // All but the mount namespace (made by the init on its way) is known now: the record is
    // ready before the init is.
    const record: ContainerRecord = {
      id: req.id,
      pid: initPid,
      pidStartTime: stat.startTime,
      bundle,
      rootfs,
      created: new Date().toISOString(),
      owner: ownerName(),
      config,
      pidNamespace: setup.namespaceOf(initPid, "pid"),
      sharedPidNamespace: !isNew(entries, "pid"),
      mountNamespace: undefined,
      cgroup,
    };
    awaitReady(cliSock, config, req.id, initPid, bundle, setup);

    if (isNew(entries, "mount")) record.mountNamespace = setup.namespaceOf(initPid, "mnt");
    store.write(record);
    if (req.pidFile) writePidFile(req.pidFile, initPid);
    return { record, child };
  } catch (failure) {
    let err = failure;
    // An init that the container's own memory limit killed says nothing: say it for it.
    if (cgroup && setup && (setup.oomKillCount(cgroup) ?? 0n) > 0n) {
      err = new BuncError("config", `linux.resources.memory.limit: the container's init was killed by the OOM killer while setting up: the limit is too low (${messageOf(failure)})`);
    }
    if (initPid > 0) sendSignal(initPid, 9);
    if (child && child.pid !== initPid) sendSignal(child.pid, 9);
    if (!has(entries, "mount") || cgroup) waitForExit(initPid || child?.pid);
    if (!has(entries, "mount")) (setup ?? (await import("./create-setup.ts"))).unmountRootfs(rootfsOf(bundle, text));
    if (cgroup && setup) {
      try {
        setup.destroyCgroup(cgroup);
      } catch (cleanup) {
        log("warning", `after a failed create: ${messageOf(cleanup)}`);
      }
    }
    store.remove(req.id);
    // The container is destroyed: its poststop hooks run, as after any delete (runtime.md).
    if (config && setup && initPid > 0) {
      for (const warning of setup.runHooksWarning(config, "poststop", setup.hookState(config, req.id, "stopped", undefined, bundle))) log("warning", warning);
    }
    throw err;
  } finally {
    for (const fd of opened) closeFd(fd);
  }
}

/** Wait for {ready}, running prestart and createRuntime hooks when the init asks for them. */
function awaitReady(sock: number, config: Spec, id: string, pid: number, bundle: string, { hookState, runHooks }: Setup): void {
  for (;;) {
    const message = receiveChecked(sock, "the init to set up the container", READY_TIMEOUT_MS);
    if (message.type === "ready") return;
    if (message.type !== "hooks") throw new BuncError("stage", `the init sent ${message.type}, not ready`);
    const state = hookState(config, id, "created", pid, bundle);
    runHooks(config, "prestart", state);
    runHooks(config, "createRuntime", state);
    send(sock, { type: "hooks-done" });
  }
}

/** Wait (briefly) until a killed stage is gone, so its mounts are no longer busy. */
function waitForExit(pid: number | undefined): void {
  const deadline = Date.now() + 2000;
  while (pid && readProcStat(pid) && readProcStat(pid)!.state !== "Z" && Date.now() < deadline) Bun.sleepSync(1);
}

function rootfsOf(bundle: string, text: string): string {
  const path = (JSON.parse(text) as { root?: { path?: unknown } }).root?.path;
  return typeof path === "string" ? (isAbsolute(path) ? path : join(bundle, path)) : join(bundle, "rootfs");
}

function ownerName(): string {
  const uid = process.geteuid?.() ?? 0;
  return userName(uid) ?? String(uid);
}

/** Write the pid file atomically, as runc does (tmp file + rename). */
export function writePidFile(path: string, pid: number): void {
  const abs = resolve(path);
  const tmp = join(abs, "..", `.${abs.split("/").pop()}.tmp`);
  try {
    nodeFs().writeFileSync(tmp, String(pid));
    nodeFs().renameSync(tmp, abs);
  } catch (err) {
    throw new BuncError("system", `--pid-file ${path}: cannot write: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`);
  }
}
