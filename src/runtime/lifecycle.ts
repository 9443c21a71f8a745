// start, kill and delete: the transitions of runtime.md, each allowed only from the statuses
// the spec allows, so a second start, a kill of a stopped container or a delete of a live
// one fail and change nothing.
import { O } from "../../ffi/constants.ts";
import { EAGAIN } from "../../ffi/errors.ts";
import { pathExists, readFd, removePath } from "../../ffi/files.ts";
import { closeFd, openRaw, waitReadable } from "../../ffi/io.ts";
import { joinPath as join } from "../linux/posix-path.ts";
import { BuncError } from "../errors.ts";
import { loadContainer, signalContainer, waitGone, type Container } from "./container.ts";
import { destroyCgroup } from "../linux/cgroups/cgroup.ts";
import { setFrozen } from "../linux/cgroups/freezer.ts";
import { sharesHostMounts, unmountRootfs } from "./host-mounts.ts";
import { hookState, runHooksWarning } from "./hooks.ts";
import { log } from "../log.ts";
import { isAlive } from "./proc-stat.ts";
import { canDelete, canKill, canPause, canResume, canStart } from "./status.ts";
import { EXEC_FIFO, type StateStore } from "./state-store.ts";

// startContainer hooks run inside this wait: leave them their own timeouts.
const START_TIMEOUT_MS = 300_000;

/** `known`: the container as its caller just made it (`run`), instead of reading it back. */
export function startContainer(store: StateStore, id: string, known?: Container): Container {
  const c = known ?? loadContainer(store, id);
  if (!canStart(c.status)) throw new BuncError("state", `cannot start container "${id}": it is ${c.status}, not created`);
  const fifo = join(c.dir, EXEC_FIFO);
  let fd: number;
  try {
    fd = openRaw(fifo, O.RDONLY | O.NONBLOCK);
  } catch {
    throw new BuncError("state", `cannot start container "${id}": it was already started`);
  }
  let answer = "";
  try {
    // Opening the fifo for reading releases the init's blocked open for writing. It answers
    // once the startContainer hooks ran, and its end closes when the process is exec'd.
    // poll(2) wakes us at that close (sleeping in steps would add up to a step to every
    // start); it gives up every 100 ms to notice a dead init.
    const deadline = Date.now() + START_TIMEOUT_MS;
    const buf = Buffer.alloc(4096);
    for (;;) {
      let n: number | undefined;
      try {
        n = readFd(fd, buf);
      } catch (err) {
        if ((err as { errno?: number }).errno !== EAGAIN) throw err;
      }
      if (n) {
        answer += buf.toString("utf8", 0, n);
        continue;
      }
      // EOF once answered: the process is exec'd (or the init gave up).
      if (n === 0 && answer !== "") break;
      // Nothing yet: the init has not opened its end, or another start took it (and then
      // removes the fifo).
      if (answer === "" && !pathExists(fifo)) throw new BuncError("state", `cannot start container "${id}": it was already started`);
      if (!isAlive(c.record.pid, c.record.pidStartTime)) {
        if (answer !== "") break;
        throw new BuncError("state", `cannot start container "${id}": its init exited`);
      }
      if (Date.now() > deadline) throw new BuncError("stage", `timed out starting container "${id}"`);
      waitReadable(fd, 100);
    }
  } finally {
    closeFd(fd);
  }
  if (answer !== "0") {
    try {
      removePath(fifo);
    } catch {}
    // "E…" before the exec, or "0E…" when the exec itself failed.
    const why = answer.replace(/^0?E?/, "").replace(/^bunc: /, "").trim() || "its init exited";
    throw new BuncError("stage", `cannot start container "${id}": ${why}`);
  }
  try {
    removePath(fifo);
  } catch {}
  // The process has started: poststart hooks, whose failures are warnings only.
  for (const failure of runHooksWarning(c.record.config, "poststart", hookState(c.record.config, id, "running", c.record.pid, c.record.bundle))) {
    log("warning", failure);
  }
  return { ...c, status: "running" };
}

export function killContainer(store: StateStore, id: string, signal: number, all: boolean): void {
  const c = loadContainer(store, id);
  // A stopped init may leave processes behind (in the host's pid namespace): `--all` still
  // reaches those in its cgroup, as runc's does; containerd's shim sends it once such an init
  // has exited. Only through the cgroup: a dead init's namespace ids may name new ones.
  if (c.status === "stopped" && all) {
    if (c.record.cgroup) signalContainer(c, signal, true);
    return;
  }
  // containerd's shim tells "process already finished" by the words "container not running".
  if (c.status === "stopped") throw new BuncError("state", `cannot kill container "${id}": container not running`);
  if (!canKill(c.status)) throw new BuncError("state", `cannot kill container "${id}": it is ${c.status}`);
  signalContainer(c, signal, all);
}

/** `known`: the container as its caller has it (`run`, once its process exited). */
export function deleteContainer(store: StateStore, id: string, force: boolean, known?: Container): void {
  // As runc: a forced delete of a container that is not there succeeds, and clears a state dir
  // a failed create left without its state file. podman deletes with --force after every
  // failed create; containerd's shim runs `delete` and then `delete --force` when it cleans up.
  if (!known && force && !store.exists(id)) return store.remove(id);
  const c = known ?? loadContainer(store, id);
  if (!canDelete(c.status)) {
    if (!force) throw new BuncError("state", `cannot delete container "${id}" that is not stopped: it is ${c.status}`);
    signalContainer(c, 9, true);
    // Frozen tasks take a SIGKILL only once thawed.
    if (c.status === "paused" && c.record.cgroup) setFrozen(c.record.cgroup, false);
    if (!waitGone(c, 10_000)) throw new BuncError("system", `container "${id}" did not die after SIGKILL`);
  }
  // With the host's pid namespace, processes the init left behind outlive it: they are the
  // container's too (and keep its cgroup busy).
  if (c.record.sharedPidNamespace || c.record.cgroup) signalContainer(c, 9, true);
  if (c.record.cgroup) destroyCgroup(c.record.cgroup);
  for (const failure of runHooksWarning(c.record.config, "poststop", hookState(c.record.config, id, "stopped", undefined, c.record.bundle))) {
    log("warning", failure);
  }
  if (sharesHostMounts(c.record.config)) unmountRootfs(c.record.rootfs);
  store.remove(id);
}

export function pauseContainer(store: StateStore, id: string): void {
  const c = loadContainer(store, id);
  if (!canPause(c.status)) throw new BuncError("state", `cannot pause container "${id}": it is ${c.status}, not running`);
  if (!c.record.cgroup) throw new BuncError("unsupported", `cannot pause container "${id}": it has no cgroup`);
  setFrozen(c.record.cgroup, true);
}

export function resumeContainer(store: StateStore, id: string): void {
  const c = loadContainer(store, id);
  if (!canResume(c.status)) throw new BuncError("state", `cannot resume container "${id}": it is ${c.status}, not paused`);
  setFrozen(c.record.cgroup!, false);
}
