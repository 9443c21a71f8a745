// The CLI ↔ stage protocol: messages on a unix stream socket (fd 3 in the stage), each a
// 4-byte big-endian length followed by that many bytes of JSON. Lengths are checked against
// MAX_MESSAGE before any allocation, so a corrupt or hostile length cannot blow up memory
// (the lesson of runc's netlink length overflow).
//
//   CLI                         nsinit (only with a user namespace)   init
//   ─── {nsinit plan} ───────▶  unshare(user)
//   ◀── {userns-ready} ──────
//   writes uid/gid maps
//   ─── {maps-written} ──────▶  unshare(others), spawn init
//   ◀── {init-pid, pid} ─────   exits (or waits for init when `run` is in the foreground)
//   ─── {init plan}, then one byte carrying exec.fifo's fd ──────▶  namespaces, mounts
//   ◀── {hooks} (only with prestart/createRuntime hooks) ────────
//   runs those hooks
//   ─── {hooks-done} ────────────────────────────────────────────▶  createContainer hooks, pivot
//   ◀── {ready} or {error} ──────────────────────────────────────   waits on exec.fifo
//
// Every wait on the CLI side has a timeout and checks that the stage is still alive.
import { readFd, writeFd } from "../../../ffi/files.ts";
import { decodeText, encodeText } from "../../../ffi/text.ts";
import { EAGAIN } from "../../../ffi/errors.ts";
import { BuncError } from "../../errors.ts";
import { waitReadable } from "../../../ffi/io.ts";

export const MAX_MESSAGE = 4 << 20;
export const STAGE_FD = 3;

export type Message = { type: string } & Record<string, unknown>;

export interface StageError extends Message {
  type: "error";
  message: string;
  code: string;
  errno?: number;
}

export function encode(message: Message): Uint8Array {
  const body = encodeText(JSON.stringify(message));
  if (body.length > MAX_MESSAGE) throw new BuncError("stage", `message ${message.type} too large (${body.length} bytes)`);
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length, false);
  frame.set(body, 4);
  return frame;
}

export function send(fd: number, message: Message): void {
  writeFd(fd, encode(message));
}

function readExactly(fd: number, n: number, deadline: number | undefined, what: string): Uint8Array {
  const buf = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    if (deadline !== undefined) {
      const left = deadline - Date.now();
      if (left <= 0 || !waitReadable(fd, left)) throw new BuncError("stage", `timed out waiting for ${what}`);
    }
    let got: number;
    try {
      got = readFd(fd, buf, off, n - off);
    } catch (err) {
      if ((err as { errno?: number }).errno === EAGAIN) continue;
      throw err;
    }
    if (got === 0) throw new BuncError("stage", `${what}: the stage exited without answering`);
    off += got;
  }
  return buf;
}

/** Read one message. With a timeout (ms) the wait is bounded; stages read without one. */
export function receive(fd: number, what: string, timeoutMs?: number): Message {
  const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  const head = readExactly(fd, 4, deadline, what);
  const len = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, false);
  if (len > MAX_MESSAGE) throw new BuncError("stage", `${what}: message of ${len} bytes exceeds the limit of ${MAX_MESSAGE}`);
  const body = readExactly(fd, len, deadline, what);
  let message: unknown;
  try {
    message = JSON.parse(decodeText(body));
  } catch {
    throw new BuncError("stage", `${what}: malformed message`);
  }
  if (typeof message !== "object" || message === null || typeof (message as Message).type !== "string") {
    throw new BuncError("stage", `${what}: message without a type`);
  }
  return message as Message;
}

/** Receive, turning a stage's `{type: "error"}` into a thrown BuncError. */
export function receiveChecked(fd: number, what: string, timeoutMs?: number): Message {
  const message = receive(fd, what, timeoutMs);
  if (message.type === "error") {
    const e = message as StageError;
    throw new BuncError((e.code as BuncError["code"]) ?? "stage", e.message, e.errno);
  }
  return message;
}

/** receiveChecked, and the message must be of `type`. */
export function expect(fd: number, type: string, what: string, timeoutMs?: number): Message {
  const message = receiveChecked(fd, what, timeoutMs);
  if (message.type !== type) throw new BuncError("stage", `${what}: expected ${type}, got ${message.type}`);
  return message;
}
