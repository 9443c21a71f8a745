// The first half of `create`: read just enough of the config to know the namespaces, start
// the first stage (the init, or nsinit with a user namespace), claim the id and make
// exec.fifo. The CLI calls it before it loads anything else: the stage's start-up (~10 ms
// of a second Bun) then overlaps loading the schemas and checking the config.
import type { Subprocess } from "bun";
import { O } from "../../ffi/constants.ts";
import { chmodPath } from "../../ffi/files.ts";
import { closeFd, keepAcrossExec, mkfifo, openRaw, sendSignal, socketPair } from "../../ffi/io.ts";
import { sendWithFds } from "../../ffi/unix-socket.ts";
import { linuxSys } from "../../ffi/sys.ts";
import { BuncError } from "../errors.ts";
import { warmUpMigration } from "../linux/cgroups/migration-warmup.ts";
import { joinPath as join, resolvePath as resolve } from "../linux/posix-path.ts";
import { enterNamespaces, has, namespaceSet, NAMESPACE_FLAGS, openNamespace, type NamespaceEntry, type NamespaceType } from "../linux/namespaces.ts";
import { readConfigText } from "../spec/config-file.ts";
import { parseJsonText } from "../spec/json-text.ts";
import { SPAWNER_NAMESPACES } from "./stages/plans.ts";
import { readOnlySelf } from "./stages/readonly-self.ts";
import { spawnInNamespaces } from "./stages/spawn-in-namespaces.ts";
import { stageCommand, stageEnv, type StageRole } from "./stages/stage-env.ts";
import { EXEC_FIFO, type StateStore } from "./state-store.ts";

/** What decides how the stage is started: a stage started for other values is not used. */
export interface StageRequest {
  id: string;
  bundle: string;
  /** The process's stdin, stdout and stderr as fds of bunc's, when not bunc's own 0, 1, 2. */
  stdio?: readonly [number, number, number];
  /** Every fd passed on from 3 up: socket-activation ones, then --preserve-fds. */
  preserveFds: number;
}

export interface StartedStage {
  request: StageRequest;
  /** The bundle, absolute. */
  bundle: string;
  /** config.json's path and text, parsed only as far as the namespaces. */
  file: string;
  text: string;
  entries: NamespaceEntry[];
  userns: boolean;
  /** The stage's end of the channel is at this fd in the stage. */
  stageFd: number;
  /** The CLI's end of the channel. */
  cliSock: number;
  /** An O_PATH handle of exec.fifo, for the init (sendFds). */
  fifoFd: number;
  /** fds to close once create is over (the channel, the fifo's and the binary's). */
  opened: number[];
  /** The init, or nsinit relaying the init's exit. */
  child: Subprocess;
  /** Set by the create that takes the stage over; an untaken stage is abandoned. */
  taken?: boolean;
}

/**
 * The namespaces of a config not yet checked by the schema: just enough to start the stage.
 * The full check runs while the stage boots; if it fails, the stage is killed.
 */
export function earlyNamespaces(doc: unknown): NamespaceEntry[] {
  const list = (doc as { linux?: { namespaces?: unknown } } | null)?.linux?.namespaces;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (e): e is NamespaceEntry => typeof e === "object" && e !== null && typeof e.type === "string" && (e.path === undefined || typeof e.path === "string"),
  );
}

export function startStage(store: StateStore, request: StageRequest): StartedStage {
  const bundle = resolve(request.bundle);
  const { file, text } = readConfigText(bundle);
  const entries = earlyNamespaces(parseJsonText(text, file));
  // A user without root can make no namespace but a user namespace (and those it then owns).
  if (process.geteuid!() !== 0 && !has(entries, "user")) {
    throw new BuncError("config", `linux.namespaces: running without root needs a user namespace (add "user" with linux.uidMappings and linux.gidMappings; bunc spec --rootless writes such a config)`);
  }
  // A bad or taken id fails here, before anything is started (claim below is the atomic test).
  const dir = store.checkFree(request.id);
  const opened: number[] = [];
  let child: Subprocess | undefined;
  let claimed = false;
  try {
    const [cliSock, stageSock] = socketPair();
    opened.push(cliSock);
    const exeFd = readOnlySelf(linuxSys);
    opened.push(exeFd);

    const userns = has(entries, "user");
    keepAcrossExec(request.preserveFds);
    const stageFd = 3 + request.preserveFds;
    const stdio = [
      ...(request.stdio ?? ["inherit", "inherit", "inherit"]),
      ...Array.from({ length: request.preserveFds }, (_, i) => 3 + i),
      stageSock, exeFd,
    ] as const;
    const spawn = (role: StageRole) =>
      Bun.spawn({ cmd: stageCommand(stageFd + 1), env: stageEnv(role, stageFd), stdio: stdio as never, cwd: "/" });
    try {
      child = userns ? spawn("nsinit") : spawnInit(entries, () => spawn("init"));
    } finally {
      // The stage has its own copy: with ours closed, a stage that dies reads as EOF at once.
      closeFd(stageSock);
    }
    // While the stage starts: claim the id and make exec.fifo, which reaches the init with
    // its plan (sendFds).
    store.claim(request.id);
    claimed = true;
    const fifoPath = join(dir, EXEC_FIFO);
    mkfifo(fifoPath, 0o622);
    chmodPath(fifoPath, 0o622); // mkfifo's mode passes through the umask
    const fifoFd = openRaw(fifoPath, O.PATH);
    opened.push(fifoFd);
    warmUpMigration(); // if the CLI has not started it yet
    return { request, bundle, file, text, entries, userns, stageFd, cliSock, fifoFd, opened, child };
  } catch (err) {
    if (child) sendSignal(child.pid, 9);
    for (const fd of opened) closeFd(fd);
    if (claimed) store.remove(request.id);
    throw err;
  }
}

/**
 * Hand exec.fifo (and the network namespace the CLI made, if any) to the init: one byte
 * carrying the fds, right after the init's plan.
 */
export function sendFds(stage: StartedStage, networkFd?: number): void {
  const fds = networkFd === undefined ? [stage.fifoFd] : [stage.fifoFd, networkFd];
  sendWithFds(stage.cliSock, new Uint8Array(1), fds, "exec.fifo to the init");
}

/** Is `stage` what startStage would make of `request`? */
export function stageFits(stage: StartedStage, request: StageRequest): boolean {
  const a = stage.request;
  return a.id === request.id && resolve(a.bundle) === resolve(request.bundle) && a.preserveFds === request.preserveFds && a.stdio === request.stdio;
}

/** Kill a stage no create took over, and remove what it claimed. */
export function abandonStage(store: StateStore, stage: StartedStage): void {
  if (stage.taken) return;
  stage.taken = true;
  sendSignal(stage.child.pid, 9);
  for (const fd of stage.opened) closeFd(fd);
  store.remove(stage.request.id);
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
