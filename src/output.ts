// Output through plain write(2). process.stdout/stderr cost ~20 ms of CPU to set up the
// stream machinery on first use: more than the whole rest of a `bunc state`.
import { EAGAIN, EINTR } from "../ffi/errors.ts";
import { writeSome } from "../ffi/files.ts";
import { encodeText } from "../ffi/text.ts";

const writeAll = (fd: number, text: string) => writeBytes(fd, encodeText(text));

/** Write all of `buf` to `fd`, waiting out EAGAIN; a closed pipe ends it quietly. */
export function writeBytes(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) {
    const n = writeSome(fd, buf, off);
    if (n >= 0) off += n;
    else if (n === -EAGAIN) Bun.sleepSync(1);
    else if (n !== -EINTR) return; // a closed pipe: nothing left to tell
  }
}

export const print = (text: string) => writeAll(1, text.endsWith("\n") ? text : `${text}\n`);
export const printError = (text: string) => writeAll(2, text.endsWith("\n") ? text : `${text}\n`);
