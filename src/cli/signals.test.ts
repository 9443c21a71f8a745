import { expect, test } from "bun:test";
import { BuncError } from "../errors.ts";
import { SIGNALS, SIGRTMAX, SIGRTMIN, parseSignal, signalName } from "./signals.ts";

test("names with and without SIG, in any case", () => {
  for (const s of ["TERM", "SIGTERM", "term", "sigterm", "SigTerm", "15"]) expect(parseSignal(s)).toBe(15);
  expect(parseSignal("KILL")).toBe(9);
  expect(parseSignal("sigkill")).toBe(9);
  expect(parseSignal("HUP")).toBe(1);
  expect(parseSignal("USR1")).toBe(10);
  expect(parseSignal("CHLD")).toBe(17);
  expect(parseSignal("WINCH")).toBe(28);
  expect(parseSignal("SIGSYS")).toBe(31);
});

test("aliases share a number", () => {
  expect(parseSignal("IOT")).toBe(SIGNALS.ABRT!);
  expect(parseSignal("CLD")).toBe(SIGNALS.CHLD!);
  expect(parseSignal("POLL")).toBe(SIGNALS.IO!);
});

test("numbers 1 to 64", () => {
  expect(parseSignal("1")).toBe(1);
  expect(parseSignal("9")).toBe(9);
  expect(parseSignal("64")).toBe(64);
  expect(parseSignal("034")).toBe(34);
});

test("real-time signals relative to RTMIN and RTMAX", () => {
  expect(parseSignal("RTMIN")).toBe(SIGRTMIN);
  expect(parseSignal("SIGRTMIN")).toBe(34);
  expect(parseSignal("RTMIN+0")).toBe(34);
  expect(parseSignal("RTMIN+3")).toBe(37);
  expect(parseSignal("sigrtmin+30")).toBe(64);
  expect(parseSignal("RTMAX")).toBe(SIGRTMAX);
  expect(parseSignal("RTMAX-2")).toBe(62);
  expect(parseSignal("SIGRTMAX-30")).toBe(34);
});

test("unknown signals are usage errors naming the value", () => {
  for (const s of ["", "0", "65", "-9", "+9", "1.5", "9x", "FOO", "SIG", "SIGFOO", "RTMIN+31", "RTMIN-1", "RTMAX+1", "RTMAX-31", "RTMIN+", "hasOwnProperty", "constructor"]) {
    let err: unknown;
    try {
      parseSignal(s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BuncError);
    expect((err as BuncError).code).toBe("usage");
    expect((err as BuncError).message).toBe(`unknown signal ${JSON.stringify(s)}`);
  }
});

test("signal names for messages", () => {
  expect(signalName(15)).toBe("SIGTERM");
  expect(signalName(6)).toBe("SIGABRT");
  expect(signalName(17)).toBe("SIGCHLD");
  expect(signalName(34)).toBe("SIGRTMIN");
  expect(signalName(36)).toBe("SIGRTMIN+2");
  expect(signalName(64)).toBe("SIGRTMAX");
  expect(signalName(32)).toBeUndefined();
  expect(signalName(0)).toBeUndefined();
  expect(signalName(65)).toBeUndefined();
});
