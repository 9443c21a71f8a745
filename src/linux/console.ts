// process.terminal: a pty made in the container's own devpts instance (reached in-root, before
// the pivot), its peer bound on /dev/console, and its master handed to the caller's
// --console-socket with SCM_RIGHTS, the message data being the pty's name, as runc's
// terminal protocol has it. The peer becomes the process's controlling terminal at exec.
import { MS, O } from "../../ffi/constants.ts";
import type { Sys } from "../../ffi/sys.ts";
import { connectUnix, sendWithFds } from "../../ffi/unix-socket.ts";
import { BuncError, messageOf } from "../errors.ts";
import { ensureFileInRoot, fdPath, openInRoot } from "./safe-path.ts";

export interface ConsoleSize {
  height: number;
  width: number;
}

/** Returns the pty's peer, to become the process's terminal. `exec` leaves /dev/console be. */
export function setupConsole(
  sys: Sys,
  rootFd: number,
  socket: number,
  size: ConsoleSize | undefined,
  socketPath: string,
  bindConsole = true,
): number {
  const ptmx = openInRoot(sys, rootFd, "/dev/ptmx", O.PATH);
  let pty: ReturnType<Sys["openPty"]>;
  try {
    pty = sys.openPty(fdPath(ptmx));
  } finally {
    sys.close(ptmx);
  }
  try {
    if (size) sys.setWindowSize(pty.master, size.height, size.width);
    if (bindConsole) {
      const console = ensureFileInRoot(sys, rootFd, "/dev/console");
      try {
        sys.mount(fdPath(pty.slave), fdPath(console), null, MS.BIND, null);
      } finally {
        sys.close(console);
      }
    }
    sendWithFds(socket, Buffer.from(pty.name), [pty.master], socketPath);
  } catch (err) {
    sys.close(pty.slave);
    throw err;
  } finally {
    sys.close(pty.master);
  }
  return pty.slave;
}

/** Connect to --console-socket while its host path is visible; the error names the flag. */
export function connectConsole(path: string): number {
  try {
    return connectUnix(path);
  } catch (err) {
    throw new BuncError("config", `--console-socket ${path}: ${messageOf(err)}`);
  }
}
