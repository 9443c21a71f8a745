// Raw fd plumbing the stages need and node:fs lacks: socketpair, poll, pidfd, flock.
import { cstr, errno, lib } from "./libc.ts";
import { SysError, EAGAIN, EINTR } from "./errors.ts";
import { AF_UNIX, POLLIN, SOCK_CLOEXEC, SOCK_STREAM, O } from "./constants.ts";

/** A connected pair of unix stream sockets, both close-on-exec. */
export function socketPair(): [number, number] {
  const fds = new Int32Array(2);
  if (lib().socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) !== 0) throw new SysError("socketpair", errno());
  return [fds[0]!, fds[1]!];
}

/** Wait until `fd` is readable (or hung up). Returns false on timeout. */
export function waitReadable(fd: number, timeoutMs: number): boolean {
  const pfd = new Int32Array([fd, POLLIN]); // struct pollfd { int fd; short events; short revents; }
  for (;;) {
    const rc = lib().poll(pfd, 1, timeoutMs);
    if (rc > 0) return true;
    if (rc === 0) return false;
    if (errno() !== EINTR) throw new SysError("poll", errno());
  }
}

/** Open a file with raw flags, e.g. O_PATH, which node:fs cannot express. */
export function openRaw(path: string, flags: number, mode = 0): number {
  const fd = lib().openat(-100, cstr(path), flags | O.CLOEXEC, mode);
  if (fd < 0) throw new SysError("open", errno(), path);
  return fd;
}

export function closeFd(fd: number): void {
  lib().close(fd);
}

export function mkfifo(path: string, mode: number): void {
  if (lib().mkfifo(cstr(path), mode) !== 0) throw new SysError("mkfifo", errno(), path);
}

export function sendSignal(pid: number, signal: number): number {
  return lib().kill(pid, signal) === 0 ? 0 : errno();
}

/**
 * Let fds 3..3+count-1 survive exec: Bun marks fds from 4 up close-on-exec at start, and
 * handing an fd to a child at its own number (dup2 onto itself) does not clear the flag.
 */
export function keepAcrossExec(count: number): void {
  const F_SETFD = 2;
  for (let fd = 3; fd < 3 + count; fd++) {
    if (lib().fcntl(fd, F_SETFD, 0) !== 0) throw new SysError("fcntl(F_SETFD)", errno(), `--preserve-fds: fd ${fd}`);
  }
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/**
 * flock(2) without waiting: true when the lock was taken, false when another open file
 * description holds it (EWOULDBLOCK). The kernel drops the lock when the fd closes or the
 * process dies, so a crash never leaves a stale lock behind.
 */
export function tryFlock(fd: number, op: number, what: string): boolean {
  for (;;) {
    if (lib().flock(fd, op | LOCK_NB) === 0) return true;
    const e = errno();
    if (e === EAGAIN) return false;
    if (e !== EINTR) throw new SysError("flock", e, what);
  }
}
