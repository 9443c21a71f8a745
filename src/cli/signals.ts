// Signal names for `kill`: a name with or without the SIG prefix in any case, a number, or a
// real-time signal written relative to RTMIN/RTMAX (RTMIN+3, RTMAX-1).
import { BuncError } from "../errors.ts";

export { SIGNALS, SIGRTMAX, SIGRTMIN } from "../linux/signal-numbers.ts";
import { SIGNALS, SIGRTMAX, SIGRTMIN } from "../linux/signal-numbers.ts";

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
