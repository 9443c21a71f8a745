// A terminal with no --console-socket: a foreground `run` or `exec` attaches the container's
// pty to its own stdio (raw mode, window size, the caller's modes restored), and `bunc
// recvtty` receives terminals sent to a console socket. Driven from a real terminal (tmux)
// where a person's terminal matters, from pipes where it must not.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containerFixture, expectOk, expectRefused, isLiveProcess, stateOf, waitFor } from "./support/assertions.ts";
import { buncPath } from "./support/bunc.ts";
import { removeTree, TEMP_PREFIX } from "./support/bundle.ts";
import { TmuxTerminal } from "./support/tmux.ts";

const fx = containerFixture();
const terminals: TmuxTerminal[] = [];
const dirs: string[] = [];
const spawned: { pid: number; exited: Promise<number> }[] = [];
afterEach(async () => {
  for (const t of terminals.splice(0)) t.close();
  for (const p of spawned.splice(0)) {
    if (isLiveProcess(p.pid)) process.kill(p.pid, "SIGKILL");
    await p.exited;
  }
  for (const d of dirs.splice(0)) removeTree(d);
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}tty-`));
  dirs.push(dir);
  return dir;
}

/** bunc with this test's --root, as a line of the terminal's script. */
const buncLine = (args: string[]) => [buncPath(), "--root", fx.rt.root, ...args].map((a) => `'${a}'`).join(" ");

/** A script that records the terminal's modes around `command` and its exit code. */
function terminal(command: string[]): TmuxTerminal {
  const t = new TmuxTerminal(tempDir(), ["stty -g > modes-before", buncLine(command), "echo $? > exit-code", "stty -g > modes-after"]);
  terminals.push(t);
  return t;
}

const terminalBundle = (script: string) => fx.bundle({ args: ["sh", "-c", script], config: { process: { terminal: true } } as never });

/** bunc's own console sockets live in bunc-console-* dirs under its temp dir: /tmp, as the
 *  tests give it no TMPDIR. */
const consoleDirs = () => new Set(readdirSync("/tmp").filter((n) => n.startsWith("bunc-console-")));

function expectModesRestored(t: TmuxTerminal): void {
  const before = readFileSync(join(t.dir, "modes-before"), "utf8");
  expect(before).toMatch(/^[0-9a-f:]+\n$/);
  expect(readFileSync(join(t.dir, "modes-after"), "utf8")).toBe(before);
}

/** The pid of the bunc process whose argv holds `word` (the container id). */
function buncPidWith(word: string): number {
  return waitFor(() => {
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
        if (argv[0] === buncPath() && argv.includes(word)) return Number(name);
      } catch {}
    }
    return 0;
  }, `the bunc process for ${word}`);
}

describe("run with a terminal and no console socket", () => {
  test("attaches the pty: typed input, output, window size and its changes, exit code, modes restored", () => {
    const b = terminalBundle("tty; stty size; read line; echo \"got:$line\"; read more; stty size; exit 7");
    const before = consoleDirs();
    const t = terminal(["run", "--bundle", b.dir, fx.rt.id()]);
    t.waitForScreen("24 80");
    expect(t.screen()).toContain("/dev/pts/0");
    t.type("hello there");
    t.waitForScreen("got:hello there");
    t.resize(100, 30);
    t.type("next");
    expect(t.waitForFile("exit-code")).toBe("7");
    t.waitForFile("modes-after");
    expect(t.screen()).toContain("30 100");
    expectModesRestored(t);
    // Its private console socket is gone with it.
    expect([...consoleDirs()].filter((d) => !before.has(d))).toEqual([]);
  });

  test("^C reaches the container through its own pty, as SIGINT for its foreground process", () => {
    const b = terminalBundle("trap 'echo interrupted; exit 3' INT; echo ready; while :; do sleep 0.1; done");
    const t = terminal(["run", "--bundle", b.dir, fx.rt.id()]);
    t.waitForScreen("ready");
    t.key("C-c");
    t.waitForScreen("interrupted");
    expect(t.waitForFile("exit-code")).toBe("3");
    t.waitForFile("modes-after");
    expectModesRestored(t);
  });

  test("a container killed by a signal: 128+N, and the terminal's modes are back", () => {
    const b = terminalBundle("echo ready; sleep 600");
    const id = fx.rt.id();
    const t = terminal(["run", "--bundle", b.dir, id]);
    t.waitForScreen("ready");
    expectOk(fx.rt.bunc(["kill", id, "KILL"]));
    expect(t.waitForFile("exit-code")).toBe("137");
    t.waitForFile("modes-after");
    expectModesRestored(t);
  });

  test("SIGTERM to bunc is passed on to the container; the modes are back when it exits", () => {
    const b = terminalBundle("trap 'echo caught; exit 5' TERM; echo ready; while :; do sleep 0.1; done");
    const id = fx.rt.id();
    const t = terminal(["run", "--bundle", b.dir, id]);
    t.waitForScreen("ready");
    process.kill(buncPidWith(id), "SIGTERM");
    expect(t.waitForFile("exit-code")).toBe("5");
    t.waitForFile("modes-after");
    expect(t.screen()).toContain("caught");
    expectModesRestored(t);
  });

  test("piped stdin: bytes are copied without raw mode and its end reaches the process as EOF", () => {
    const b = terminalBundle("cat; echo cat-ended; exit 4");
    const r = fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()], { stdin: "first line\nsecond" });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(4);
    // The pty echoes what it is given and cat prints it again: every line shows up.
    expect(r.stdout).toContain("first line\r\n");
    expect(r.stdout).toContain("second");
    expect(r.stdout.trimEnd().endsWith("cat-ended")).toBe(true);
  });

  test("piped input far larger than the pty holds arrives whole, for a process slow to read it", () => {
    const line = `${"x".repeat(99)}\n`;
    const input = line.repeat(5000) + "tail-without-newline";
    const b = terminalBundle("sleep 1; wc -c");
    const r = fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()], { stdin: input });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(0);
    // The pty echoes the input back first (the partial line with no newline); wc's count ends it.
    expect(r.stdout.trimEnd()).toMatch(new RegExp(`(?<!\\d)${input.length}$`));
  });

  test("a container with a user namespace reaches bunc's own console socket too", () => {
    const b = fx.bundle({
      args: ["sh", "-c", "tty; id -u; exit 9"],
      config: { process: { terminal: true } } as never,
      mutate: (cfg) => {
        cfg.linux!.namespaces!.push({ type: "user" });
        cfg.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        cfg.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      },
    });
    const r = fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(9);
    expect(r.stdout.split("\r\n").slice(0, 2)).toEqual(["/dev/pts/0", "0"]);
  });

  test("output is drained to the last byte before bunc exits", () => {
    const b = terminalBundle("seq 1 30000");
    const r = fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split("\r\n").filter(Boolean);
    expect(lines.length).toBe(30000);
    expect(lines.at(-1)).toBe("30000");
  });

  test("process.consoleSize stays when the caller has no terminal", () => {
    const b = fx.bundle({ args: ["stty", "size"], config: { process: { terminal: true, consoleSize: { height: 33, width: 111 } } } as never });
    const r = fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]);
    expect({ exitCode: r.exitCode, stdout: r.stdout.trim(), stderr: r.stderr }).toEqual({ exitCode: 0, stdout: "33 111", stderr: "" });
  });

  test("run --detach with a terminal and no console socket is refused; create too", () => {
    const b = terminalBundle("true");
    expectRefused(fx.rt.bunc(["run", "--detach", "--bundle", b.dir, fx.rt.id()]), "process.terminal", "--console-socket", "--detach");
    expectRefused(fx.rt.bunc(["create", "--bundle", b.dir, fx.rt.id()]), "process.terminal", "--console-socket", "create");
    expect(fx.rt.bunc(["list", "--quiet"]).stdout).toBe("");
  });
});

describe("exec --tty with no console socket", () => {
  test("attaches the pty: typed input, output, exit code, modes restored", () => {
    const b = fx.bundle({ args: ["sleep", "600"] });
    const id = fx.rt.id();
    expectOk(fx.rt.bunc(["run", "--detach", "--bundle", b.dir, id]));
    const t = terminal(["exec", "--tty", id, "sh", "-c", "tty; stty size; read line; echo \"got:$line\"; exit 6"]);
    t.waitForScreen("24 80");
    expect(t.screen()).toMatch(/\/dev\/pts\/\d+/);
    t.type("from the keyboard");
    t.waitForScreen("got:from the keyboard");
    expect(t.waitForFile("exit-code")).toBe("6");
    t.waitForFile("modes-after");
    expectModesRestored(t);
    expect(stateOf(fx.rt.bunc(["state", id])).status).toBe("running");
  });

  test("piped stdin reaches the process and its end ends it", () => {
    const b = fx.bundle({ args: ["sleep", "600"] });
    const id = fx.rt.id();
    expectOk(fx.rt.bunc(["run", "--detach", "--bundle", b.dir, id]));
    const r = fx.rt.bunc(["exec", "-t", id, "sh", "-c", "read a; echo \"got:$a\"; cat >/dev/null; echo done"], { stdin: "piped words\n" });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("got:piped words\r\n");
    expect(r.stdout.trimEnd().endsWith("done")).toBe(true);
  });
});

describe("exec --tty, when the pty outlives the process", () => {
  test("a child that keeps the pty open does not keep bunc: it returns with the process's code", () => {
    const b = fx.bundle({ args: ["sleep", "600"] });
    const id = fx.rt.id();
    expectOk(fx.rt.bunc(["run", "--detach", "--bundle", b.dir, id]));
    // The child ignores the hangup its session leader's exit sends, and holds the pty on.
    const r = fx.rt.bunc(["exec", "-t", id, "sh", "-c", "trap '' HUP; sleep 600 & echo started; exit 2"], { timeoutMs: 15_000 });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toContain("started");
  });
});

describe("recvtty", () => {
  test("single: the terminal a container sends crosses both ways; modes and socket are cleaned up", () => {
    const dir = tempDir();
    const socket = join(dir, "console.sock");
    const pidFile = join(dir, "recvtty.pid");
    const t = new TmuxTerminal(dir, ["stty -g > modes-before", `'${buncPath()}' recvtty --pid-file '${pidFile}' '${socket}'`, "echo $? > exit-code", "stty -g > modes-after"]);
    terminals.push(t);
    const pid = Number(waitFor(() => (existsSync(pidFile) ? readFileSync(pidFile, "utf8") : ""), "recvtty's pid file"));
    expect(isLiveProcess(pid)).toBe(true);
    expect(existsSync(socket)).toBe(true);
    const b = terminalBundle("echo hello-from-inside; read line; echo \"got:$line\"");
    const id = fx.rt.id();
    expectOk(fx.rt.bunc(["run", "--detach", "--console-socket", socket, "--bundle", b.dir, id]));
    t.waitForScreen("hello-from-inside");
    t.type("typed outside");
    t.waitForScreen("got:typed outside");
    // The process exits, the pty closes, recvtty ends.
    expect(t.waitForFile("exit-code")).toBe("0");
    t.waitForFile("modes-after");
    expectModesRestored(t);
    expect(existsSync(socket)).toBe(false);
  });

  test("null: takes any number of terminals and drains them until SIGTERM", async () => {
    const dir = tempDir();
    const socket = join(dir, "console.sock");
    const pidFile = join(dir, "recvtty.pid");
    const proc = Bun.spawn([buncPath(), "recvtty", "--mode", "null", "--pid-file", pidFile, socket], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    spawned.push(proc);
    waitFor(() => existsSync(pidFile), "recvtty's pid file");
    expect(Number(readFileSync(pidFile, "utf8"))).toBe(proc.pid);
    // Far more than a pty holds: only a reader lets it through to the exec of sleep.
    const b = terminalBundle("seq 1 50000; exec sleep 600");
    const ids = [fx.rt.id(), fx.rt.id()];
    for (const id of ids) expectOk(fx.rt.bunc(["run", "--detach", "--console-socket", socket, "--bundle", b.dir, id]));
    for (const id of ids) {
      const { pid } = stateOf(fx.rt.bunc(["state", id]));
      waitFor(() => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] === "sleep", `${id} to write all its output`);
    }
    expect(isLiveProcess(proc.pid)).toBe(true);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(existsSync(socket)).toBe(false);
    for (const id of ids) expectOk(fx.rt.bunc(["delete", "--force", id]));
  });

  test("a socket path that cannot be listened on is refused, naming it", () => {
    const dir = tempDir();
    const r = fx.rt.bunc(["recvtty", join(dir, "missing-dir", "console.sock")]);
    expectRefused(r, "missing-dir/console.sock");
    const bad = fx.rt.bunc(["recvtty", "--mode", "loud", join(dir, "x.sock")]);
    expectRefused(bad, "--mode", "loud");
  });
});
