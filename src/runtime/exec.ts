// `exec`, CLI side: the process is built and checked, the CLI's main thread joins the
// container's ipc, uts, net, cgroup and pid namespaces (pid applies to children only), spawns
// the exec stage from bunc's read-only view of itself and goes back; the stage is put in the
// container's cgroup before it is given its plan, then joins user and mount itself.
import type { Subprocess } from "bun";
import { O } from "../../ffi/constants.ts";
import { closeFd, keepAcrossExec, openRaw, sendSignal, socketPair } from "../../ffi/io.ts";
import { linuxSys } from "../../ffi/sys.ts";
import { BuncError } from "../errors.ts";
import { ambientWarning, unraisableAmbient } from "../linux/capabilities.ts";
import { log } from "../log.ts";
import { addProcess } from "../linux/cgroups/cgroup.ts";
import { NAMESPACE_FLAGS, type NamespaceType } from "../linux/namespaces.ts";
import { loadContainer } from "./container.ts";
import { execProcessSpec, type ExecFlags } from "./exec-process.ts";
import { compiledSeccomp } from "./seccomp-cache.ts";
import { expect, send } from "./stages/channel.ts";
import type { ExecPlan } from "./stages/plans.ts";
import { readOnlySelf } from "./stages/readonly-self.ts";
import { stageCommand, stageEnv } from "./stages/stage-env.ts";
import { spawnInNamespaces } from "./stages/spawn-in-namespaces.ts";
import type { StateStore } from "./state-store.ts";
import { readFileSync, readlinkSync } from "node:fs";
import { resolve } from "node:path";

export interface ExecRequest {
  id: string;
  flags: ExecFlags;
  preserveFds: number;
  ignorePaused: boolean;
  consoleSocket?: string;
  /** A console socket bunc listens on itself: used when the process asks for a terminal and no consoleSocket is given. */
  ownConsoleSocket?: string;
  /** The size the pty starts with when bunc attaches it: the process may look before bunc can set it. */
  ownConsoleSize?: { height: number; width: number };
}

const STAGE_TIMEOUT_MS = 30_000;
// Joined by the CLI's main thread, in this order; user and mount are the stage's.
const CLI_JOINS: [NamespaceType, string][] = [["ipc", "ipc"], ["uts", "uts"], ["network", "net"], ["cgroup", "cgroup"], ["pid", "pid"]];

const nsInode = (pid: number | "self", name: string) => {
  try {
    return readlinkSync(`/proc/${pid}/ns/${name}`);
  } catch {
    return undefined;
  }
};

async function blame<T>(source: string, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof BuncError && err.code === "config") throw new BuncError("usage", err.message.replace(/^config\.json: /, `${source}: `));
    throw err;
  }
}

/** A rootless container's user namespace may deny setgroups(2) (its gid map was written by its owner). */
function setgroupsAllowed(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/setgroups`, "utf8").trim() === "allow";
  } catch {
    return true;
  }
}

export async function execInContainer(store: StateStore, req: ExecRequest): Promise<{ child: Subprocess; pid: number; terminal: boolean }> {
  const c = loadContainer(store, req.id);
  if (c.status === "stopped") throw new BuncError("state", `cannot exec in container "${req.id}": it is stopped`);
  if (c.status === "paused" && !req.ignorePaused) throw new BuncError("state", `cannot exec in container "${req.id}": it is paused (use --ignore-paused)`);
  const { checkProcess, parseProcessText } = await import("../spec/validate-config.ts");
  // Errors name what the user gave: the -p file, or the flags; never the bundle's config.json.
  const source = req.flags.processFile ? (req.flags.processFile === "-" ? "--process (stdin)" : req.flags.processFile) : "exec";
  const proc = await blame(source, () => execProcessSpec(c.record.config.process, req.flags, parseProcessText));
  await blame(source, () => checkProcess(proc, "process"));
  for (const name of unraisableAmbient(proc.capabilities)) log("warning", ambientWarning(name));
  const consoleSocket = req.consoleSocket ?? (proc.terminal ? req.ownConsoleSocket : undefined);
  if (proc.terminal && !consoleSocket) {
    throw new BuncError("usage", "exec --tty without --console-socket: only an exec in the foreground (not --detach) can attach the terminal");
  }
  if (consoleSocket !== undefined && consoleSocket === req.ownConsoleSocket && req.ownConsoleSize) proc.consoleSize = req.ownConsoleSize;
  if (!proc.terminal && req.consoleSocket) throw new BuncError("usage", "--console-socket: the process asks for no terminal (use --tty)");
  if (proc.apparmorProfile) throw new BuncError("unsupported", "--apparmor: AppArmor is not supported yet");
  if (proc.selinuxLabel) throw new BuncError("unsupported", "--process-label: SELinux labels are not supported yet");
  const initPid = c.record.pid;
  if (nsInode(initPid, "time") !== nsInode("self", "time")) {
    throw new BuncError("unsupported", `cannot exec in container "${req.id}": joining its time namespace is not supported yet`);
  }
  const linux = c.record.config.linux;
  const seccomp = linux?.seccomp ? await compiledSeccomp(store.root, linux.seccomp) : undefined;

  const opened: number[] = [];
  let child: Subprocess | undefined;
  try {
    // All of the init's namespace files first, while /proc is the host's.
    // Rootless, the stage joins them itself (stages/exec-relay.ts): only those not ours.
    const joinUser = nsInode(initPid, "user") !== nsInode("self", "user");
    const stageJoins = joinUser && process.geteuid!() !== 0 ? CLI_JOINS.filter(([, name]) => nsInode(initPid, name) !== nsInode("self", name)).map(([type]) => type) : undefined;
    const joins = stageJoins ? [] : CLI_JOINS.map(([type, name]) => ({ type, fd: openRaw(`/proc/${initPid}/ns/${name}`, O.RDONLY) }));
    for (const j of joins) opened.push(j.fd);
    const [cliSock, stageSock] = socketPair();
    const exeFd = readOnlySelf(linuxSys);
    opened.push(cliSock, stageSock, exeFd);
    keepAcrossExec(req.preserveFds);
    const stageFd = 3 + req.preserveFds;
    const stdio = ["inherit", "inherit", "inherit", ...Array.from({ length: req.preserveFds }, (_, i) => 3 + i), stageSock, exeFd];
    child = spawnInNamespaces(
      joins.map((j) => j.type),
      () => joins.forEach((j) => linuxSys.setns(j.fd, NAMESPACE_FLAGS[j.type], `the container's ${j.type} namespace`)),
      () => Bun.spawn({ cmd: stageCommand(stageFd + 1), env: stageEnv("exec", stageFd), stdio: stdio as never, cwd: "/" }),
    );
    if (c.record.cgroup) addProcess(c.record.cgroup, child.pid);
    const plan: ExecPlan = {
      type: "exec",
      id: req.id,
      process: proc,
      initPid,
      joinUser,
      stageJoins,
      setgroupsAllowed: setgroupsAllowed(initPid),
      preserveFds: req.preserveFds,
      seccomp,
      consoleSocket: consoleSocket === undefined ? undefined : resolve(consoleSocket),
      ociVersion: c.record.config.ociVersion,
      bundle: c.record.bundle,
      annotations: (c.record.config.annotations ?? {}) as Record<string, string>,
    };
    send(cliSock, plan as never);
    const ready = expect(cliSock, "ready", "the exec stage to set up the process", STAGE_TIMEOUT_MS);
    // Through a relay, the process is the relay's child, whose pid the relay tells.
    return { child, pid: typeof ready.pid === "number" ? ready.pid : child.pid, terminal: proc.terminal === true };
  } catch (err) {
    if (child) {
      // Reap it here: left to exit with us, it would linger as a zombie in the container.
      sendSignal(child.pid, 9);
      await child.exited;
    }
    throw err;
  } finally {
    for (const fd of opened) closeFd(fd);
  }
}
