// Terminal modes and sizes for proxying a pty to the caller's terminal: save the caller's
// termios, switch it to raw mode (glibc's cfmakeraw), put it back; read and copy the window
// size. Uses glibc's struct termios (60 bytes on x86_64 and aarch64) through its wrappers.
import { ptr } from "bun:ffi";
import { errno, lib } from "./libc.ts";
import { EINTR, SysError } from "./errors.ts";

const TERMIOS_SIZE = 64; // glibc's struct termios is 60 bytes; room to spare
const C_CC_OFFSET = 17; // c_iflag, c_oflag, c_cflag, c_lflag (4 × u32), c_line (u8), c_cc[32]
const VEOF = 4;
const TCSANOW = 0;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;

export function isTerminal(fd: number): boolean {
  return lib().isatty(fd) === 1;
}

/** The terminal's current modes, to hand back to restoreModes. */
export function saveModes(fd: number): Buffer {
  const t = Buffer.alloc(TERMIOS_SIZE);
  if (lib().tcgetattr(fd, t) !== 0) throw new SysError("tcgetattr", errno(), `fd ${fd}`);
  return t;
}

function setModes(fd: number, t: Buffer): void {
  for (;;) {
    if (lib().tcsetattr(fd, TCSANOW, t) === 0) return;
    if (errno() !== EINTR) throw new SysError("tcsetattr", errno(), `fd ${fd}`);
  }
}

/** Raw mode: bytes pass through unchanged, no echo, no line editing, no signal keys. */
export function makeRaw(fd: number, saved: Buffer): void {
  const raw = Buffer.from(saved);
  lib().cfmakeraw(raw);
  setModes(fd, raw);
}

export function restoreModes(fd: number, saved: Buffer): void {
  setModes(fd, saved);
}

/** The end-of-file character of a terminal (^D unless changed). */
export function eofCharacter(fd: number): number {
  return saveModes(fd)[C_CC_OFFSET + VEOF]!;
}

export interface WindowSize {
  rows: number;
  cols: number;
}

export function windowSize(fd: number): WindowSize {
  const ws = new Uint16Array(4); // struct winsize { rows, cols, xpixel, ypixel }
  if (lib().ioctl(fd, TIOCGWINSZ, BigInt(ptr(ws))) !== 0) throw new SysError("ioctl(TIOCGWINSZ)", errno(), `fd ${fd}`);
  return { rows: ws[0]!, cols: ws[1]! };
}

export function setWindowSize(fd: number, size: WindowSize): void {
  const ws = new Uint16Array([size.rows, size.cols, 0, 0]);
  if (lib().ioctl(fd, TIOCSWINSZ, BigInt(ptr(ws))) !== 0) throw new SysError("ioctl(TIOCSWINSZ)", errno(), `fd ${fd}`);
}

/** A second fd on the same open file (close-on-exec). */
export function duplicate(fd: number): number {
  const F_DUPFD_CLOEXEC = 1030;
  const copy = lib().fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) throw new SysError("fcntl(F_DUPFD_CLOEXEC)", errno(), `fd ${fd}`);
  return copy;
}
