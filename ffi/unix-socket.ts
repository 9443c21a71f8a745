// Unix sockets with fd passing (SCM_RIGHTS): how a seccomp listener fd reaches the agent at
// linux.seccomp.listenerPath, and a terminal's master reaches a --console-socket.
// Layouts are those of x86_64 and aarch64 (LP64): sockaddr_un, msghdr, iovec, cmsghdr.
import { ptr } from "bun:ffi";
import { errno, lib } from "./libc.ts";
import { SysError, EINTR } from "./errors.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_STREAM } from "./constants.ts";
import { SYS } from "./syscall-numbers.ts";
import { encodeText } from "./text.ts";

const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_NOSIGNAL = 0x4000;
const SUN_PATH_MAX = 108;

export function sockaddrUn(path: string): Uint8Array {
  const bytes = encodeText(path);
  if (bytes.length >= SUN_PATH_MAX) throw new SysError("connect", 36 /* ENAMETOOLONG */, path);
  const addr = new Uint8Array(2 + SUN_PATH_MAX);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(bytes, 2);
  return addr;
}

/** Connect a stream socket to the unix socket at `path`. */
export function connectUnix(path: string): number {
  const fd = lib().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SysError("socket", errno(), path);
  const addr = sockaddrUn(path);
  for (;;) {
    if (lib().connect(fd, addr, addr.length) === 0) return fd;
    const e = errno();
    if (e === EINTR) continue;
    lib().close(fd);
    throw new SysError("connect", e, path);
  }
}

/** The control message carrying `fds`: cmsghdr {len, level, type} then the ints, 8-aligned. */
export function rightsMessage(fds: number[]): Uint8Array {
  const dataLen = 4 * fds.length;
  const control = new Uint8Array(16 + ((dataLen + 7) & ~7));
  const view = new DataView(control.buffer);
  view.setBigUint64(0, BigInt(16 + dataLen), true);
  view.setInt32(8, SOL_SOCKET, true);
  view.setInt32(12, SCM_RIGHTS, true);
  fds.forEach((fd, i) => view.setInt32(16 + 4 * i, fd, true));
  return control;
}

/**
 * struct msghdr for one data buffer and a control buffer (LP64 layout). The iovec is
 * returned too: the caller keeps it referenced until the call returns.
 */
function messageHeader(data: Uint8Array, control: Uint8Array): { msg: Uint8Array; view: DataView; iov: Uint8Array } {
  const iov = new Uint8Array(16);
  const iovView = new DataView(iov.buffer);
  iovView.setBigUint64(0, BigInt(ptr(data)), true);
  iovView.setBigUint64(8, BigInt(data.length), true);
  const msg = new Uint8Array(56);
  const view = new DataView(msg.buffer);
  view.setBigUint64(16, BigInt(ptr(iov)), true);
  view.setBigUint64(24, 1n, true);
  view.setBigUint64(32, BigInt(ptr(control)), true);
  view.setBigUint64(40, BigInt(control.length), true);
  return { msg, view, iov };
}

/** Send `data` with `fds` attached, in one sendmsg. */
export function sendWithFds(sock: number, data: Uint8Array, fds: number[], what: string): void {
  const control = rightsMessage(fds);
  const { msg, iov } = messageHeader(data, control);
  for (;;) {
    const n = lib().sendmsg(sock, msg, MSG_NOSIGNAL);
    void iov;
    if (n >= 0n) {
      if (Number(n) !== data.length) throw new SysError("sendmsg", 5 /* EIO: short write */, what);
      return;
    }
    if (errno() !== EINTR) throw new SysError("sendmsg", errno(), what);
  }
}

const MSG_CMSG_CLOEXEC = 0x40000000;

/** Receive one message and the fds attached to it (close-on-exec). */
export function receiveWithFds(sock: number, maxData = 65536, maxFds = 16): { data: Uint8Array; fds: number[] } {
  const data = new Uint8Array(maxData);
  const control = new Uint8Array(16 + ((4 * maxFds + 7) & ~7));
  const { msg, view, iov } = messageHeader(data, control);
  let n: bigint;
  for (;;) {
    n = lib().recvmsg(sock, msg, MSG_CMSG_CLOEXEC);
    void iov;
    if (n >= 0n) break;
    if (errno() !== EINTR) throw new SysError("recvmsg", errno());
  }
  const fds: number[] = [];
  const controlLen = Number(view.getBigUint64(40, true));
  const cmsg = new DataView(control.buffer);
  if (controlLen >= 16 && cmsg.getInt32(8, true) === SOL_SOCKET && cmsg.getInt32(12, true) === SCM_RIGHTS) {
    const count = (Number(cmsg.getBigUint64(0, true)) - 16) / 4;
    for (let i = 0; i < count; i++) fds.push(cmsg.getInt32(16 + 4 * i, true));
  }
  return { data: data.subarray(0, Number(n)), fds };
}

const sys3 = (nr: number, a: number | bigint, b: number | bigint, c: number | bigint, d: number | bigint = 0) =>
  lib().syscall(BigInt(nr), BigInt(a), BigInt(b), BigInt(c), BigInt(d), 0n, 0n);

/** A unix stream socket listening at `path` (for agents and receivers: recvtty, tests). */
export function listenUnix(path: string, backlog = 8): number {
  const fd = lib().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SysError("socket", errno(), path);
  const addr = sockaddrUn(path);
  if (sys3(SYS.bind, fd, ptr(addr), addr.length) < 0n || sys3(SYS.listen, fd, backlog, 0) < 0n) {
    const e = errno();
    lib().close(fd);
    throw new SysError("bind/listen", e, path);
  }
  return fd;
}

/** Accept one connection (close-on-exec). */
export function acceptUnix(fd: number): number {
  for (;;) {
    const conn = Number(sys3(SYS.accept4, fd, 0, 0, SOCK_CLOEXEC));
    if (conn >= 0) return conn;
    if (errno() !== EINTR) throw new SysError("accept4", errno());
  }
}
