// `create`, CLI side: validate the bundle, claim the id, make exec.fifo, start the stages and
// put the init into its pid namespace, hand it the plan, wait for {ready}, record the state.
// Any failure kills what was started and removes the state dir: a failed create leaves
// nothing behind.
import type { Subprocess } from "bun";
import { chmodSync, renameSync, writeFileSync } from "node:fs";
import { userName } from "../linux/subids.ts";
import { isAbsolute, join, resolve } from "node:path";
import { O } from "../../ffi/constants.ts";
import { closeFd, keepAcrossExec, mkfifo, openRaw, sendSignal, socketPair } from "../../ffi/io.ts";
import { linuxSys } from "../../ffi/sys.ts";
import { BuncError, configError, messageOf } from "../errors.ts";
import { enterNamespaces, has, isNew, namespaceSet, NAMESPACE_FLAGS, openNamespace, type NamespaceEntry, type NamespaceType } from "../linux/namespaces.ts";
import type { Spec } from "../spec/runtime-config.ts";
import { log } from "../log.ts";
import { ambientWarning, unraisableAmbient } from "../linux/capabilities.ts";
import { checkSysctlNamespaces } from "../linux/sysctl.ts";
import { warmUpMigration } from "../linux/cgroups/migration-warmup.ts";
import type { CgroupRecord } from "../linux/cgroups/cgroup.ts";
type Setup = typeof import("./create-setup.ts");
import { readConfigText } from "../spec/config-file.ts";
import { parseJsonText } from "../spec/json-text.ts";
import { readProcStat } from "./proc-stat.ts";
import { expect, receiveChecked, send } from "./stages/channel.ts";
import { INIT_NAMESPACES, SPAWNER_NAMESPACES, type InitPlan, type NsinitPlan } from "./stages/plans.ts";
import { readOnlySelf } from "./stages/readonly-self.ts";
import { spawnInNamespaces } from "./stages/spawn-in-namespaces.ts";
import { stageCommand, stageEnv, type StageRole } from "./stages/stage-env.ts";
import { EXEC_FIFO, type ContainerRecord, type StateStore } from "./state-store.ts";
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

/**
 * The namespaces of a config not yet checked by the schema: just enough to start the init
 * early. The full check runs while the init boots; if it fails, the init is killed.
 */
function earlyNamespaces(doc: unknown): NamespaceEntry[] {
  const list = (doc as { linux?: { namespaces?: unknown } } | null)?.linux?.namespaces;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (e): e is NamespaceEntry => typeof e === "object" && e !== null && typeof e.type === "string" && (e.path === undefined || typeof e.path === "string"),
  );
}

export async function createContainer(store: StateStore, request: CreateRequest): Promise<Created> {
  const warm = warmUpMigration();
  // Socket-activation fds come first, then --preserve-fds: all of them pass through from 3 up.
  const req = { ...request, preserveFds: request.preserveFds + (request.listenFds ?? 0) };
  const bundle = resolve(req.bundle);
  const { file, text } = readConfigText(bundle);
  const entries = earlyNamespaces(parseJsonText(text, file));
  // A user without root can make no namespace but a user namespace (and those it then owns).
  if (process.geteuid!() !== 0 && !has(entries, "user")) {
    throw new BuncError("config", `linux.namespaces: running without root needs a user namespace (add "user" with linux.uidMappings and linux.gidMappings; bunc spec --rootless writes such a config)`);
  }

  const dir = store.claim(req.id);
  const opened: number[] = [];
  let child: Subprocess | undefined;
  let initPid = 0;
  let config: Spec | undefined;
  let setup: Setup | undefined;
  let cgroup: CgroupRecord | undefined;
  let setgroupsAllowed = true;
  try {
    const fifoPath = join(dir, EXEC_FIFO);
    mkfifo(fifoPath, 0o622);
    chmodSync(fifoPath, 0o622); // mkfifo's mode passes through the umask
    const fifoFd = openRaw(fifoPath, O.PATH);
    opened.push(fifoFd);
    const [cliSock, stageSock] = socketPair();
    opened.push(cliSock);
    const exeFd = readOnlySelf(linuxSys);
    opened.push(exeFd);

    const userns = has(entries, "user");
    keepAcrossExec(req.preserveFds);
    const stageFd = 3 + req.preserveFds;
    const stdio = [
      ...(req.stdio ?? ["inherit", "inherit", "inherit"]),
      ...Array.from({ length: req.preserveFds }, (_, i) => 3 + i),
      stageSock, fifoFd, exeFd,
    ] as const;
    const spawn = (role: StageRole) =>
      Bun.spawn({ cmd: stageCommand(stageFd + 2), env: stageEnv(role, stageFd), stdio: stdio as never, cwd: "/" });
    try {
      child = userns ? spawn("nsinit") : spawnInit(entries, () => spawn("init"));
    } finally {
      // The stage has its own copy: with ours closed, a stage that dies reads as EOF at once.
      closeFd(stageSock);
    }

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
      fifoFd: stageFd + 1,
      userns,
      setgroupsAllowed,
      namespaces: entries.filter((e) => (INIT_NAMESPACES as readonly string[]).includes(e.type)),
      seccomp,
      cgroupDirs: cgroup?.dirs,
      consoleSocket: consoleSocket === undefined ? undefined : resolve(consoleSocket),
      placedLater: true,
      hostPid: initPid,
    };
    // bunc's own console socket is root's alone: an init in a user namespace is let in.
    if (userns && own !== undefined) admitUserNamespaceRoot(own, initPid);
    send(cliSock, plan as never);
    try {
      if (cgroup) {
        setup.createCgroup(cgroup);
        setup.applyResources(cgroup, config.linux?.resources ?? {});
        await warm;
        setup.addProcess(cgroup, initPid);
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
    awaitReady(cliSock, config, req.id, initPid, bundle, setup);

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
      mountNamespace: isNew(entries, "mount") ? setup.namespaceOf(initPid, "mnt") : undefined,
      cgroup,
    };
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
    writeFileSync(tmp, String(pid));
    renameSync(tmp, abs);
  } catch (err) {
    throw new BuncError("system", `--pid-file ${path}: cannot write: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`);
  }
}

/**
 * Without a user namespace the CLI puts the init into its pid (and time) namespace itself:
 * these apply to children only, so its main thread unshares or joins them, spawns the init,
 * and goes back. Saves starting a second Bun.
 */
function spawnInit(entries: NamespaceEntry[], spawn: () => Subprocess): Subprocess {
  const set = namespaceSet(entries, [...SPAWNER_NAMESPACES] as NamespaceType[]);
  const kinds = (["pid", "time"] as NamespaceType[]).filter(
    (t) => set.create & NAMESPACE_FLAGS[t] || set.join.some((j) => j.type === t),
  );
  const fds = set.join.map((entry) =>
    openNamespace(linuxSys, entry, `linux.namespaces[${entries.findIndex((e) => e.type === entry.type)}].path`, (p) => openRaw(p, O.RDONLY)),
  );
  return spawnInNamespaces(kinds, () => enterNamespaces(linuxSys, set, fds), spawn);
}
