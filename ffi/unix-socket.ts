// Unix sockets with fd passing (SCM_RIGHTS): how a seccomp listener fd reaches the agent at
// linux.seccomp.listenerPath, and a terminal's master reaches a --console-socket.
// Layouts are those of x86_64 and aarch64 (LP64): sockaddr_un, msghdr, iovec, cmsghdr.
import { ptr } from "bun:ffi";
import { errno, lib } from "./libc.ts";
import { SysError, EINTR } from "./errors.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_STREAM } from "./constants.ts";
import { SYS } from "./syscall-numbers.ts";

const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_NOSIGNAL = 0x4000;
const SUN_PATH_MAX = 108;

export function sockaddrUn(path: string): Buffer {
  const bytes = Buffer.from(path);
  if (bytes.length >= SUN_PATH_MAX) throw new SysError("connect", 36 /* ENAMETOOLONG */, path);
  const addr = Buffer.alloc(2 + SUN_PATH_MAX);
  addr.writeUInt16LE(AF_UNIX, 0);
  bytes.copy(addr, 2);
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
export function rightsMessage(fds: number[]): Buffer {
  const dataLen = 4 * fds.length;
  const control = Buffer.alloc(16 + ((dataLen + 7) & ~7));
  control.writeBigUInt64LE(BigInt(16 + dataLen), 0);
  control.writeInt32LE(SOL_SOCKET, 8);
  control.writeInt32LE(SCM_RIGHTS, 12);
  fds.forEach((fd, i) => control.writeInt32LE(fd, 16 + 4 * i));
  return control;
}

/**
 * struct msghdr for one data buffer and a control buffer (LP64 layout). The iovec is
 * returned too: the caller keeps it referenced until the call returns.
 */
function messageHeader(data: Buffer, control: Buffer): { msg: Buffer; iov: Buffer } {
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(BigInt(ptr(data)), 0);
  iov.writeBigUInt64LE(BigInt(data.length), 8);
  const msg = Buffer.alloc(56);
  msg.writeBigUInt64LE(BigInt(ptr(iov)), 16);
  msg.writeBigUInt64LE(1n, 24);
  msg.writeBigUInt64LE(BigInt(ptr(control)), 32);
  msg.writeBigUInt64LE(BigInt(control.length), 40);
  return { msg, iov };
}

/** Send `data` with `fds` attached, in one sendmsg. */
export function sendWithFds(sock: number, data: Buffer, fds: number[], what: string): void {
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
export function receiveWithFds(sock: number, maxData = 65536, maxFds = 16): { data: Buffer; fds: number[] } {
  const data = Buffer.alloc(maxData);
  const control = Buffer.alloc(16 + ((4 * maxFds + 7) & ~7));
  const { msg, iov } = messageHeader(data, control);
  let n: bigint;
  for (;;) {
    n = lib().recvmsg(sock, msg, MSG_CMSG_CLOEXEC);
    void iov;
    if (n >= 0n) break;
    if (errno() !== EINTR) throw new SysError("recvmsg", errno());
  }
  const fds: number[] = [];
  const controlLen = Number(msg.readBigUInt64LE(40));
  if (controlLen >= 16 && control.readInt32LE(8) === SOL_SOCKET && control.readInt32LE(12) === SCM_RIGHTS) {
    const count = (Number(control.readBigUInt64LE(0)) - 16) / 4;
    for (let i = 0; i < count; i++) fds.push(control.readInt32LE(16 + 4 * i));
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
