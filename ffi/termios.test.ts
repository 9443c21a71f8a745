// termios through glibc on a pty of the test's own (the peer is a terminal; the master
// reports the same modes): raw mode and back, the window size, the EOF character.
import { afterEach, expect, test } from "bun:test";
import { closeFd, socketPair } from "./io.ts";
import { linuxSys } from "./sys.ts";
import { duplicate, eofCharacter, isTerminal, makeRaw, restoreModes, saveModes, setWindowSize, windowSize } from "./termios.ts";

const opened: number[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) closeFd(fd);
});

function pty() {
  const p = linuxSys.openPty("/dev/ptmx");
  opened.push(p.master, p.slave);
  return p;
}

const ICANON = 0o2;
const ECHO = 0o10;
const lflag = (modes: Buffer) => modes.readUInt32LE(12);

test("a pty's peer is a terminal, a socket is not", () => {
  const { slave } = pty();
  const [a, b] = socketPair();
  opened.push(a, b);
  expect(isTerminal(slave)).toBe(true);
  expect(isTerminal(a)).toBe(false);
});

test("raw mode turns off line editing and echo; restoring gives back the very same modes", () => {
  const { slave } = pty();
  const saved = saveModes(slave);
  expect(lflag(saved) & (ICANON | ECHO)).toBe(ICANON | ECHO);
  makeRaw(slave, saved);
  expect(lflag(saveModes(slave)) & (ICANON | ECHO)).toBe(0);
  restoreModes(slave, saved);
  expect(saveModes(slave).subarray(0, 60)).toEqual(saved.subarray(0, 60));
});

test("the window size set on the master is the one read back from the peer", () => {
  const { master, slave } = pty();
  setWindowSize(master, { rows: 42, cols: 133 });
  expect(windowSize(slave)).toEqual({ rows: 42, cols: 133 });
});

test("the EOF character is ^D by default; a duplicate fd is the same terminal", () => {
  const { master } = pty();
  expect(eofCharacter(master)).toBe(4);
  const copy = duplicate(master);
  opened.push(copy);
  expect(copy).not.toBe(master);
  setWindowSize(copy, { rows: 5, cols: 6 });
  expect(windowSize(master)).toEqual({ rows: 5, cols: 6 });
});

test("a non-terminal is an error that names the call", () => {
  const [a, b] = socketPair();
  opened.push(a, b);
  expect(() => saveModes(a)).toThrow(/tcgetattr/);
});
