// The seccomp user-notification protocol on a listener fd (linux/seccomp.h): receive one
// notification, answer it. Used by agents at linux.seccomp.listenerPath (and bunc's tests).
import { ptr } from "bun:ffi";
import { errno, lib } from "./libc.ts";
import { SysError } from "./errors.ts";

// _IOWR('!', 0, struct seccomp_notif) and _IOWR('!', 1, struct seccomp_notif_resp).
const SECCOMP_IOCTL_NOTIF_RECV = 0xc0502100;
const SECCOMP_IOCTL_NOTIF_SEND = 0xc0182101;
/** Let the syscall run as if the filter had allowed it. */
export const SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1;

export interface Notification {
  id: bigint;
  /** The calling thread, in the receiver's pid namespace. */
  pid: number;
  nr: number;
  arch: number;
  args: bigint[];
}

export function receiveNotification(listener: number): Notification {
  // struct seccomp_notif { u64 id; u32 pid; u32 flags; struct seccomp_data { int nr; u32 arch; u64 ip; u64 args[6]; } }
  const buf = Buffer.alloc(80);
  if (lib().ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, BigInt(ptr(buf))) < 0) throw new SysError("SECCOMP_IOCTL_NOTIF_RECV", errno());
  return {
    id: buf.readBigUInt64LE(0),
    pid: buf.readUInt32LE(8),
    nr: buf.readInt32LE(16),
    arch: buf.readUInt32LE(20),
    args: Array.from({ length: 6 }, (_, i) => buf.readBigUInt64LE(32 + 8 * i)),
  };
}

/** `error` is a negative errno (0: success with `val` as the result); or flags CONTINUE. */
export function answerNotification(listener: number, id: bigint, answer: { val?: number; error?: number; flags?: number }): void {
  // struct seccomp_notif_resp { u64 id; s64 val; s32 error; u32 flags; }
  const buf = Buffer.alloc(24);
  buf.writeBigUInt64LE(id, 0);
  buf.writeBigInt64LE(BigInt(answer.val ?? 0), 8);
  buf.writeInt32LE(answer.error ?? 0, 16);
  buf.writeUInt32LE(answer.flags ?? 0, 20);
  if (lib().ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, BigInt(ptr(buf))) < 0) throw new SysError("SECCOMP_IOCTL_NOTIF_SEND", errno());
}
