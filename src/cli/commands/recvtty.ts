// `recvtty SOCKET`: a console-socket receiver for people and tests, like runc's contrib one.
// It listens on SOCKET and takes the pty masters runtimes send there (runc's terminal
// protocol). `single` attaches the first terminal to its own stdio until that pty closes;
// `null` takes any number and reads and drops their output, keeping them open, until
// SIGINT or SIGTERM. The pid file is written once the socket listens; the socket is removed
// on the way out.
import { rmSync } from "node:fs";
import tty from "node:tty";
import { closeFd, waitReadable } from "../../../ffi/io.ts";
import { acceptUnix, listenUnix } from "../../../ffi/unix-socket.ts";
import { BuncError, messageOf } from "../../errors.ts";
import { log } from "../../log.ts";
import { receiveTerminal } from "../../runtime/console-receiver.ts";
import { writePidFile } from "../../runtime/create.ts";
import { attachTerminal } from "../../runtime/terminal-proxy.ts";
import { boolOption, stringOption } from "../args.ts";
import type { CommandContext } from "./context.ts";

// The listening socket is looked at this often: Bun's event loop cannot watch it for us.
const ACCEPT_POLL_MS = 200;
const MESSAGE_TIMEOUT_MS = 10_000;

/** Resolves with the next connection on `listener`, polling without blocking the event loop. */
function nextConnection(listener: number, stopped: Promise<unknown>): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      try {
        if (!waitReadable(listener, 0)) return;
        clearInterval(timer);
        resolve(acceptUnix(listener));
      } catch (err) {
        clearInterval(timer);
        reject(err);
      }
    }, ACCEPT_POLL_MS);
    void stopped.then(() => {
      clearInterval(timer);
      resolve(undefined);
    });
  });
}

/** Resolves on SIGINT, SIGTERM or SIGHUP: recvtty's way to be told to finish. */
function untilSignalled(): { signalled: Promise<void>; dispose(): void } {
  let done: () => void = () => {};
  const signalled = new Promise<void>((resolve) => (done = resolve));
  const names = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const handler = () => done();
  for (const name of names) process.on(name, handler);
  return { signalled, dispose: () => names.forEach((name) => process.off(name, handler)) };
}

export async function recvtty(ctx: CommandContext): Promise<number> {
  const path = ctx.positionals[0]!;
  const mode = stringOption(ctx.options, "mode") ?? "single";
  let listener: number | undefined;
  try {
    listener = listenUnix(path);
  } catch (err) {
    throw new BuncError("usage", `recvtty ${path}: cannot listen there: ${messageOf(err)}`);
  }
  const stopListening = () => {
    if (listener === undefined) return;
    closeFd(listener);
    listener = undefined;
    rmSync(path, { force: true });
  };
  process.on("exit", stopListening);
  const { signalled, dispose } = untilSignalled();
  try {
    const pidFile = stringOption(ctx.options, "pid-file");
    if (pidFile) writePidFile(pidFile, process.pid);
    if (mode === "null") await receiveIntoNothing(listener, signalled);
    else await receiveOne(listener, signalled, !boolOption(ctx.options, "no-stdin"), stopListening);
    return 0;
  } finally {
    dispose();
    stopListening();
    process.off("exit", stopListening);
  }
}

async function receiveOne(listener: number, signalled: Promise<void>, stdin: boolean, stopListening: () => void): Promise<void> {
  const conn = await nextConnection(listener, signalled);
  if (conn === undefined) return;
  // One terminal only: there is one stdin to give it.
  stopListening();
  const { master } = receiveTerminal(conn, "recvtty", MESSAGE_TIMEOUT_MS);
  const proxy = attachTerminal(master, { stdin });
  try {
    await Promise.race([proxy.closed, signalled]);
  } finally {
    proxy.stop();
  }
}

async function receiveIntoNothing(listener: number, signalled: Promise<void>): Promise<void> {
  const consoles: tty.ReadStream[] = [];
  let running = true;
  void signalled.then(() => (running = false));
  try {
    while (running) {
      const conn = await nextConnection(listener, signalled);
      if (conn === undefined) break;
      try {
        const { master, name } = receiveTerminal(conn, "recvtty", MESSAGE_TIMEOUT_MS);
        const reader = new tty.ReadStream(master);
        reader.on("data", () => {});
        reader.on("error", () => reader.destroy()); // EIO: the pty's last user has gone
        consoles.push(reader);
        log("debug", `recvtty: took the terminal ${name}`);
      } catch (err) {
        log("warning", `recvtty: ${messageOf(err)}`);
      }
    }
  } finally {
    for (const reader of consoles) reader.destroy();
  }
}
