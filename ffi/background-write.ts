// A write(2) that may block for long (a cgroup migration waits for an RCU grace period)
// done by a glibc AIO thread, so the caller's thread goes on at once.
import { ptr } from "bun:ffi";
import { errno, lib } from "./libc.ts";
import { SysError } from "./errors.ts";
import { encodeText } from "./text.ts";

const EINPROGRESS = 115;
// struct aiocb (LP64 glibc: x86_64 and aarch64 alike): the fields set here, and its size.
const AIOCB_SIZE = 168;
const AIO_FILDES = 0;
const AIO_BUF = 16;
const AIO_NBYTES = 24;
const AIO_SIGEV_NOTIFY = 32 + 12; // aio_sigevent.sigev_notify
const SIGEV_NONE = 1;

// Writes under way: glibc's thread fills in their aiocb, which must outlive the caller's handle.
const inFlight = new Set<unknown>();

export interface BackgroundWrite {
  /** null while the write runs; then its result: bytes written, or the errno as a negative. */
  result(): number | null;
}

/** Start writing `data` to `fd` at offset 0; keep `fd` open until result() is not null. */
export function writeInBackground(fd: number, data: string): BackgroundWrite {
  const bytes = encodeText(data);
  const cb = new Uint8Array(AIOCB_SIZE);
  const view = new DataView(cb.buffer);
  view.setInt32(AIO_FILDES, fd, true);
  view.setBigUint64(AIO_BUF, BigInt(ptr(bytes)), true);
  view.setBigUint64(AIO_NBYTES, BigInt(bytes.length), true);
  view.setInt32(AIO_SIGEV_NOTIFY, SIGEV_NONE, true);
  if (lib().aio_write(cb) !== 0) throw new SysError("aio_write", errno());
  const buffers = { cb, bytes };
  inFlight.add(buffers);
  let outcome: number | null = null;
  return {
    result() {
      if (outcome !== null) return outcome;
      const e = lib().aio_error(cb);
      if (e === EINPROGRESS) return null;
      const written = Number(lib().aio_return(cb));
      outcome = e === 0 ? written : -e;
      inFlight.delete(buffers);
      return outcome;
    },
  };
}
