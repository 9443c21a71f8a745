// The receiving end of runc's terminal protocol: a unix socket that gets one connection per
// terminal and, on it, one message whose data is the pty's name and whose SCM_RIGHTS fd is
// the pty's master. Used by a foreground run/exec that attaches the terminal itself (its
// socket lives in a private 0700 directory) and by `bunc recvtty`.
import { readTextFile } from "../../ffi/files.ts";
import { decodeText } from "../../ffi/text.ts";
import { joinPath as join } from "../linux/posix-path.ts";
import { nodeFs } from "../node-fs.ts";
import { closeFd, waitReadable } from "../../ffi/io.ts";
import { acceptUnix, listenUnix, receiveWithFds } from "../../ffi/unix-socket.ts";
import { BuncError } from "../errors.ts";

export interface ReceivedTerminal {
  master: number;
  /** The pty's name inside the container, e.g. /dev/pts/0. */
  name: string;
}

/** Read the one message of a console connection; closes `conn`. */
export function receiveTerminal(conn: number, what: string, timeoutMs: number): ReceivedTerminal {
  try {
    if (!waitReadable(conn, timeoutMs)) throw new BuncError("stage", `${what}: no terminal arrived on the console socket`);
    const { data, fds } = receiveWithFds(conn, 4096, 4);
    if (fds.length !== 1) {
      for (const fd of fds) closeFd(fd);
      throw new BuncError("stage", `${what}: the console socket message carried ${fds.length} fds, not the one pty master`);
    }
    return { master: fds[0]!, name: decodeText(data) };
  } finally {
    closeFd(conn);
  }
}

export interface ConsoleReceiver {
  /** The socket's path, to pass as the console socket of a process. */
  path: string;
  /** The master the process sent (it was sent before the process was ready). */
  take(timeoutMs?: number): ReceivedTerminal;
  /** Stop listening and remove the socket and its directory. Safe to call twice. */
  close(): void;
}

/** A console socket of bunc's own, in a fresh directory only root (the caller) can enter. */
export function openConsoleReceiver(): ConsoleReceiver {
  const dir = nodeFs().mkdtempSync(join(require("node:os").tmpdir(), "bunc-console-")); // mode 0700
  const path = join(dir, "console.sock");
  let listener: number | undefined;
  const close = () => {
    if (listener !== undefined) closeFd(listener);
    listener = undefined;
    nodeFs().rmSync(dir, { recursive: true, force: true });
  };
  try {
    listener = listenUnix(path, 1);
  } catch (err) {
    close();
    throw err;
  }
  return {
    path,
    take(timeoutMs = 10_000) {
      if (listener === undefined || !waitReadable(listener, timeoutMs)) throw new BuncError("stage", "the process did not connect to bunc's console socket");
      return receiveTerminal(acceptUnix(listener), "the process", timeoutMs);
    },
    close,
  };
}

/** The host id that id 0 of `pid`'s user namespace maps to (from its uid_map or gid_map). */
function hostIdOfRoot(pid: number, map: "uid_map" | "gid_map"): number | undefined {
  for (const line of readTextFile(`/proc/${pid}/${map}`).split("\n")) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    if (inside === undefined || outside === undefined || count === undefined) continue;
    if (inside <= 0 && 0 < inside + count) return outside - inside;
  }
  return undefined;
}

/**
 * Let the root of `pid`'s user namespace reach a socket of openConsoleReceiver: an init in
 * a user namespace connects as that (host) uid, which a root-only 0700 directory shuts out.
 */
export function admitUserNamespaceRoot(socketPath: string, pid: number): void {
  const uid = hostIdOfRoot(pid, "uid_map");
  const gid = hostIdOfRoot(pid, "gid_map");
  if (uid === undefined || gid === undefined) return;
  nodeFs().chownSync(join(socketPath, ".."), uid, gid);
  nodeFs().chownSync(socketPath, uid, gid);
}
