// config.md process.terminal and runc's terminal protocol: the pty is made in the container's
// devpts, its peer is the process's controlling terminal and stdio (and /dev/console for the
// init), and its master reaches the unix socket given as --console-socket with SCM_RIGHTS,
// the message data being the pty's name.
import { afterEach, describe, expect, test } from "bun:test";
import { readSync } from "node:fs";
import { join } from "node:path";
import { closeFd, waitReadable } from "../ffi/io.ts";
import { acceptUnix, listenUnix, receiveWithFds } from "../ffi/unix-socket.ts";
import { containerFixture, expectOk, expectRefused } from "./support/assertions.ts";

const fx = containerFixture();
const opened: number[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) closeFd(fd);
});

/** A console socket receiver: listen, then take the one master the runtime sends. */
function receiver(dir: string) {
  const path = join(dir, "console.sock");
  const listener = listenUnix(path);
  opened.push(listener);
  return {
    path,
    take(): { name: string; master: number } {
      if (!waitReadable(listener, 10_000)) throw new Error("nothing connected to the console socket");
      const conn = acceptUnix(listener);
      opened.push(conn);
      if (!waitReadable(conn, 10_000)) throw new Error("no message on the console socket");
      const { data, fds } = receiveWithFds(conn);
      expect(fds.length).toBe(1);
      opened.push(fds[0]!);
      return { name: Buffer.from(data).toString(), master: fds[0]! };
    },
  };
}

/** Everything the pty prints until the process closes it (bounded). */
function drain(master: number): string {
  const buf = Buffer.alloc(4096);
  let out = "";
  for (let i = 0; i < 50; i++) {
    if (!waitReadable(master, 200)) {
      if (out) break;
      continue;
    }
    let n = 0;
    try {
      n = readSync(master, buf);
    } catch {
      break; // EIO: the last holder of the peer has gone
    }
    if (n <= 0) break;
    out += buf.toString("utf8", 0, n);
  }
  return out;
}

describe("create --console-socket", () => {
  test("the process gets a pty as controlling terminal and stdio, of the requested size", async () => {
    const script = "tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys; cut -d' ' -f6 /proc/self/stat; stty size; ls -l /dev/console | cut -c1";
    const b = fx.bundle({ args: ["sh", "-c", script], config: { process: { terminal: true, consoleSize: { height: 30, width: 100 } } } as never });
    const r = receiver(b.dir);
    const id = fx.rt.id();
    const create = fx.rt.spawn(["create", "--bundle", b.dir, "--console-socket", r.path, id]);
    const { name, master } = r.take();
    expect(await create.exited).toBe(0);
    expect(name).toBe("/dev/pts/0");
    expectOk(fx.rt.bunc(["start", id]));
    const lines = drain(master).split("\r\n");
    expect(lines[0]).toBe("/dev/pts/0");
    expect(lines).toContain("all-ttys");
    // The session is its own (sid = pid 1) and /dev/console is the pty, a char device.
    expect(lines).toContain("1");
    expect(lines).toContain("30 100");
    expect(lines).toContain("c");
    expectOk(fx.rt.bunc(["delete", "--force", id]));
  });

  test("a terminal without a console socket is refused, and a socket without a terminal", () => {
    const withTty = fx.bundle({ args: ["true"], config: { process: { terminal: true } } as never });
    const id = fx.rt.id();
    expectRefused(fx.rt.bunc(["create", "--bundle", withTty.dir, id]), "process.terminal", "--console-socket");
    const without = fx.bundle({ args: ["true"] });
    expectRefused(fx.rt.bunc(["create", "--bundle", without.dir, "--console-socket", join(without.dir, "x.sock"), id]), "--console-socket");
  });

  test("a console socket nobody listens on fails create, naming it", () => {
    const b = fx.bundle({ args: ["true"], config: { process: { terminal: true } } as never });
    const id = fx.rt.id();
    expectRefused(fx.rt.bunc(["create", "--bundle", b.dir, "--console-socket", join(b.dir, "nobody.sock"), id]), "--console-socket", "nobody.sock");
  });
});

describe("exec --tty --console-socket", () => {
  test("the exec'd process gets its own pty; /dev/console is left alone", async () => {
    const b = fx.bundle({ args: ["sleep", "1000"] });
    const id = fx.rt.id();
    expectOk(fx.rt.bunc(["run", "--detach", "--bundle", b.dir, id]));
    const r = receiver(b.dir);
    const exec = fx.rt.spawn(["exec", "--tty", "--console-socket", r.path, "--detach", id, "sh", "-c", "tty; [ -t 1 ] && echo out-is-tty; [ -e /dev/console ] || echo no-console"]);
    const { name, master } = r.take();
    expect(await exec.exited).toBe(0);
    expect(name).toMatch(/^\/dev\/pts\/\d+$/);
    const lines = drain(master).split("\r\n");
    expect(lines[0]).toBe(name);
    expect(lines).toContain("out-is-tty");
    expect(lines).toContain("no-console");
    expectOk(fx.rt.bunc(["delete", "--force", id]));
  });

  test("--tty --detach without a console socket is refused with 255", () => {
    const b = fx.bundle({ args: ["sleep", "1000"] });
    const id = fx.rt.id();
    expectOk(fx.rt.bunc(["run", "--detach", "--bundle", b.dir, id]));
    const r = fx.rt.bunc(["exec", "--tty", "--detach", id, "true"]);
    expect(r.exitCode).toBe(255);
    expect(r.stderr).toContain("--console-socket");
    expectOk(fx.rt.bunc(["delete", "--force", id]));
  });
});
