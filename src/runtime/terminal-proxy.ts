// A container's pty attached to the caller's own terminal: the caller's stdin goes to the
// pty's master, the master's output to the caller's stdout. When stdin is a terminal it is
// put in raw mode (the container's pty does the line editing and turns ^C into SIGINT), and
// its modes are given back on every way out: stop(), an exception, process exit. The
// window size follows the caller's terminal (at start and on each SIGWINCH).
//
// Reads and writes go through Bun's event loop (tty streams: the fd is watched with epoll),
// so the CLI's main thread stays free to wait for the process and pass on signals.
import tty from "node:tty";
import { closeFd } from "../../ffi/io.ts";
import { duplicate, eofCharacter, isTerminal, makeRaw, restoreModes, saveModes, setWindowSize, windowSize, type WindowSize } from "../../ffi/termios.ts";
import { log } from "../log.ts";
import { messageOf } from "../errors.ts";
import { writeBytes } from "../output.ts";

export interface TerminalProxyOptions {
  /** Copy the caller's stdin to the pty (and make it raw when it is a terminal). */
  stdin: boolean;
}

export interface TerminalProxy {
  /** Resolves when the pty's output has ended: every holder of its peer has closed it. */
  closed: Promise<void>;
  /** After the process exited: let the last of its output through, then stop. */
  finish(): Promise<void>;
  /** Stop copying, close the master, give the caller's terminal its modes back. Idempotent. */
  stop(): void;
}

// After the process exits, others in the container may still hold the pty open: its output
// is taken as drained once the pty closes, or has been quiet this long, or at the cap.
const QUIET_MS = 100;
const DRAIN_CAP_MS = 2000;

/** The caller's terminal, if any of stdin, stdout, stderr is one: the window size comes from it. */
function callerTerminal(): number | undefined {
  return [0, 1, 2].find(isTerminal);
}

/** The caller's window size, when it has a terminal that was given one. */
export function callerWindowSize(): WindowSize | undefined {
  const fd = callerTerminal();
  if (fd === undefined) return undefined;
  try {
    const size = windowSize(fd);
    return size.rows || size.cols ? size : undefined;
  } catch {
    return undefined;
  }
}

export function attachTerminal(master: number, options: TerminalProxyOptions): TerminalProxy {
  const sizeFrom = callerTerminal();
  const rawFd = options.stdin && isTerminal(0) ? 0 : undefined;
  const saved = rawFd === undefined ? undefined : saveModes(rawFd);
  let stopped = false;
  let lastOutput = Date.now();

  const restore = () => {
    if (saved === undefined || rawFd === undefined) return;
    try {
      restoreModes(rawFd, saved);
    } catch (err) {
      log("warning", `cannot restore the terminal's modes: ${messageOf(err)}`);
    }
  };
  const copySize = () => {
    if (sizeFrom === undefined || stopped) return;
    try {
      const size = windowSize(sizeFrom);
      // A terminal that was never given a size (0×0) says nothing: process.consoleSize stays.
      if (size.rows || size.cols) setWindowSize(master, size);
    } catch (err) {
      log("debug", `window size not copied: ${messageOf(err)}`);
    }
  };

  const reader = new tty.ReadStream(master);
  let endOutput: () => void = () => {};
  const closed = new Promise<void>((resolve) => (endOutput = resolve));
  reader.on("data", (chunk: Buffer) => {
    lastOutput = Date.now();
    writeBytes(1, chunk);
  });
  // EIO is how a pty master reports that the last holder of its peer has gone.
  reader.on("error", () => endOutput());
  reader.on("end", () => endOutput());
  reader.on("close", () => endOutput());

  let writerFd: number | undefined;
  let writer: tty.WriteStream | undefined;
  let lastInput = 0x0a;
  // A process that does not read its input slows the reading of ours: nothing piles up.
  const onInput = (chunk: Buffer) => {
    if (chunk.length) lastInput = chunk[chunk.length - 1]!;
    if (writer && !writer.write(chunk)) process.stdin.pause();
  };
  const onDrain = () => {
    if (!stopped) process.stdin.resume();
  };
  // Piped input has no ^D of its own: its end is passed on as the pty's end-of-file
  // character, twice after a partial line (the first only ends the line).
  const onInputEnd = () => {
    if (rawFd !== undefined || !writer || stopped) return;
    const eof = eofCharacter(master);
    writer.write(Buffer.from(lastInput === 0x0a ? [eof] : [eof, eof]));
  };

  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off("SIGWINCH", copySize);
    process.off("exit", restore);
    if (options.stdin) {
      process.stdin.off("data", onInput);
      process.stdin.off("end", onInputEnd);
      process.stdin.pause();
    }
    reader.destroy();
    if (writer) writer.destroy();
    else if (writerFd !== undefined) closeFd(writerFd);
    restore();
  };

  try {
    process.on("exit", restore);
    if (rawFd !== undefined) makeRaw(rawFd, saved!);
    copySize();
    process.on("SIGWINCH", copySize);
    if (options.stdin) {
      // Its own fd, so the reader and the writer each close theirs.
      writerFd = duplicate(master);
      writer = new tty.WriteStream(writerFd);
      writer.on("error", (err) => log("debug", `terminal input: ${messageOf(err)}`));
      writer.on("drain", onDrain);
      process.stdin.on("data", onInput);
      process.stdin.on("end", onInputEnd);
    }
  } catch (err) {
    stop();
    throw err;
  }

  const finish = async () => {
    const started = Date.now();
    let done = false;
    void closed.then(() => (done = true));
    // Quiet is counted from the exit at the earliest: output may still be on its way.
    while (!done && Date.now() - Math.max(lastOutput, started) < QUIET_MS && Date.now() - started < DRAIN_CAP_MS) {
      await Promise.race([closed, Bun.sleep(QUIET_MS / 2)]);
    }
    stop();
  };
  return { closed, finish, stop };
}
