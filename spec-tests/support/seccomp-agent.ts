// A seccomp agent for the conformance tests: a unix socket listening at a path, for
// linux.seccomp.listenerPath. The runtime connects and sends one message, the container
// process state as JSON, with the seccomp notify fd attached (SCM_RIGHTS). With that fd the
// agent answers the container's notified syscalls (SECCOMP_IOCTL_NOTIF_RECV / _SEND).
//
//   const agent = new SeccompAgent(join(dir, "agent.sock"));
//   try {
//     ... start the container ...
//     const { message, fds } = agent.receive(10_000);
//     const n = nextNotification(fds[0]!, 10_000);
//     answerNotification(fds[0]!, n.id, { error: -95 });
//   } finally {
//     agent.close();
//   }
//
// Every call that waits polls first and gives up after its timeout, so a runtime that never
// connects or a container that never calls fails the test instead of hanging it.
// node:net cannot receive fds, so the socket is made with raw calls (x86_64 and aarch64).
import { rmSync } from "node:fs";
import { closeFd, waitReadable } from "../../ffi/io.ts";
import { answerNotification as answer, receiveNotification, type Notification } from "../../ffi/seccomp-notify.ts";
import { acceptUnix, listenUnix, receiveWithFds } from "../../ffi/unix-socket.ts";

export { SECCOMP_USER_NOTIF_FLAG_CONTINUE, type Notification } from "../../ffi/seccomp-notify.ts";

/** What the runtime sends the agent (runtime-spec config-linux.md, "containerProcessState"). */
export interface ContainerProcessState {
  ociVersion: string;
  fds: string[];
  pid: number;
  metadata?: string;
  state: { ociVersion: string; id: string; status: string; pid?: number; bundle: string; annotations?: Record<string, string> };
}

export class SeccompAgent {
  readonly path: string;
  private fd: number;

  /** Listens at `path` (which must not exist yet, and be shorter than 108 bytes). */
  constructor(path: string) {
    this.path = path;
    this.fd = listenUnix(path, 4);
  }

  /** Accepts one connection and reads one message with its fds (close-on-exec, owned by
   *  the caller). Throws when nothing arrives within `timeoutMs`. */
  receive(timeoutMs: number): { message: ContainerProcessState; raw: string; fds: number[] } {
    if (!waitReadable(this.fd, timeoutMs)) throw new Error(`seccomp agent: no connection at ${this.path} within ${timeoutMs} ms`);
    const conn = acceptUnix(this.fd);
    try {
      if (!waitReadable(conn, timeoutMs)) throw new Error(`seccomp agent: no message within ${timeoutMs} ms`);
      const { data, fds } = receiveWithFds(conn);
      const raw = Buffer.from(data).toString();
      let message: ContainerProcessState;
      try {
        message = JSON.parse(raw);
      } catch {
        for (const fd of fds) closeFd(fd);
        throw new Error(`seccomp agent: the message is not JSON: ${JSON.stringify(raw)}`);
      }
      return { message, raw, fds };
    } finally {
      closeFd(conn);
    }
  }

  /** True when a runtime has connected (or is connecting) and not yet been accepted. */
  pending(timeoutMs = 0): boolean {
    return this.fd >= 0 && waitReadable(this.fd, timeoutMs);
  }

  /** Stops listening and removes the socket file. Safe to call twice. */
  close(): void {
    if (this.fd >= 0) closeFd(this.fd);
    this.fd = -1;
    rmSync(this.path, { force: true });
  }
}

/** Waits up to `timeoutMs` for the next notification on a listener fd and reads it. */
export function nextNotification(listener: number, timeoutMs: number): Notification {
  if (!waitReadable(listener, timeoutMs)) throw new Error(`seccomp agent: no notification within ${timeoutMs} ms`);
  return receiveNotification(listener);
}

/** Answers a notification: `error` is a negative errno (0 for success, then `val` is the
 *  return value), or flags SECCOMP_USER_NOTIF_FLAG_CONTINUE lets the call go through. */
export function answerNotification(listener: number, id: bigint, reply: { val?: number; error?: number; flags?: number }): void {
  answer(listener, id, reply);
}
