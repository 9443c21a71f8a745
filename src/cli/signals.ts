// Signal names for `kill`: a name with or without the SIG prefix in any case, a number, or a
// real-time signal written relative to RTMIN/RTMAX (RTMIN+3, RTMAX-1).
import { BuncError } from "../errors.ts";

// The generic Linux numbering, shared by x86-64 and arm64 (mips, sparc and alpha differ,
// but Bun does not run there).
export const SIGNALS: Readonly<Record<string, number>> = Object.freeze({
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  IOT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  POLL: 29,
  PWR: 30,
  SYS: 31,
});

// The C library keeps the first two real-time signals (32, 33) for its own threads, so the
// usable range, and what RTMIN means to users, starts at 34.
export const SIGRTMIN = 34;
export const SIGRTMAX = 64;

const realTime = /^RT(MIN|MAX)(?:([+-])([0-9]+))?$/;

function parseRealTime(name: string): number | undefined {
  const m = realTime.exec(name);
  if (!m) return undefined;
  const base = m[1] === "MIN" ? SIGRTMIN : SIGRTMAX;
  if (m[2] === undefined) return base;
  // RTMIN counts up and RTMAX counts down; the other direction leaves the range.
  if ((m[1] === "MIN") !== (m[2] === "+")) return undefined;
  const n = base + (m[2] === "+" ? 1 : -1) * Number(m[3]);
  return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
}

/** Parses a signal as `kill` takes it; an unknown one is a usage error naming the value. */
export function parseSignal(s: string): number {
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= SIGRTMAX) return n;
  } else {
    const upper = s.toUpperCase();
    const name = upper.startsWith("SIG") ? upper.slice(3) : upper;
    const known = Object.hasOwn(SIGNALS, name) ? SIGNALS[name] : parseRealTime(name);
    if (known !== undefined) return known;
  }
  throw new BuncError("usage", `unknown signal ${JSON.stringify(s)}`);
}

/** The usual name of a signal number (SIGTERM, SIGRTMIN+2), for messages and logs. */
export function signalName(n: number): string | undefined {
  for (const [name, num] of Object.entries(SIGNALS)) {
    // The first entry for a number is the conventional one (ABRT before IOT).
    if (num === n) return `SIG${name}`;
  }
  if (n === SIGRTMIN) return "SIGRTMIN";
  if (n === SIGRTMAX) return "SIGRTMAX";
  if (n > SIGRTMIN && n < SIGRTMAX) return `SIGRTMIN+${n - SIGRTMIN}`;
  return undefined;
}
