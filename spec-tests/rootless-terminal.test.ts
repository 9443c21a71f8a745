// Terminals in rootless containers: a user without root runs `run` with process.terminal and
// `exec --tty` from a real terminal (tmux), typing into the container's pty. The pty is made
// in the container's user namespace and reaches the user's bunc over its own console socket.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buncPath } from "./support/bunc.ts";
import { removeTree, TEMP_PREFIX } from "./support/bundle.ts";
import { createTestUser, type TestUser } from "./support/rootless-user.ts";
import { TmuxTerminal } from "./support/tmux.ts";

let user: TestUser;
let n = 0;
const id = () => `rlt-${process.pid}-${++n}`;
const terminals: TmuxTerminal[] = [];
const dirs: string[] = [];

beforeAll(() => {
  user = createTestUser();
});
afterEach(() => {
  for (const t of terminals.splice(0)) t.close();
  for (const d of dirs.splice(0)) removeTree(d);
});
afterAll(() => user?.remove());

/** A terminal whose script runs bunc as the user, then records its exit code and the modes around it. */
function terminal(args: string[]): TmuxTerminal {
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}rltty-`));
  dirs.push(dir);
  const env = [`PATH=/usr/sbin:/usr/bin:/sbin:/bin`, `HOME=/home/${user.name}`, `USER=${user.name}`, `XDG_RUNTIME_DIR=${user.runtimeDir}`, "TERM=xterm"];
  const line = ["env", "-i", ...env, "setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups", "--", buncPath(), ...args].map((a) => `'${a}'`).join(" ");
  const t = new TmuxTerminal(dir, ["stty -g > modes-before", line, "echo $? > exit-code", "stty -g > modes-after"]);
  terminals.push(t);
  return t;
}

function expectModesRestored(t: TmuxTerminal): void {
  const before = readFileSync(join(t.dir, "modes-before"), "utf8");
  expect(before).toMatch(/^[0-9a-f:]+\n$/);
  expect(readFileSync(join(t.dir, "modes-after"), "utf8")).toBe(before);
}

describe("terminals as a user without root", () => {
  test("run with process.terminal: the pty is the process's, typed input reaches it, its exit code comes back", () => {
    const bundle = user.makeBundle((c) => {
      c.process.terminal = true;
      c.process.args = ["sh", "-c", 'tty; stty size; read line; echo "got:$line"; exit 4'];
    });
    const t = terminal(["run", "--bundle", bundle, id()]);
    t.waitForScreen("24 80");
    expect(t.screen()).toMatch(/\/dev\/pts\/\d+/);
    t.type("typed by a user");
    t.waitForScreen("got:typed by a user");
    expect(t.waitForFile("exit-code")).toBe("4");
    t.waitForFile("modes-after");
    expectModesRestored(t);
  });

  test("exec --tty into a running container: a pty of its own, input, exit code, the container keeps running", () => {
    const bundle = user.makeBundle((c) => (c.process.args = ["sleep", "300"]));
    const cid = id();
    try {
      const started = user.bunc(["run", "-d", "--bundle", bundle, cid]);
      expect(started.stderr).toBe("");
      expect(started.exitCode).toBe(0);
      const t = terminal(["exec", "--tty", cid, "sh", "-c", 'tty; stty size; id -u; read line; echo "got:$line"; exit 6']);
      t.waitForScreen("24 80");
      expect(t.screen()).toMatch(/\/dev\/pts\/\d+/);
      t.type("from the keyboard");
      t.waitForScreen("got:from the keyboard");
      expect(t.screen()).toContain("\n0\n");
      expect(t.waitForFile("exit-code")).toBe("6");
      t.waitForFile("modes-after");
      expectModesRestored(t);
      expect(JSON.parse(user.bunc(["state", cid]).stdout).status).toBe("running");

      // From pipes, -t still gives the process a pty (its own stdin is not one).
      const piped = user.bunc(["exec", "-t", cid, "sh", "-c", "test -t 0 && echo is-a-tty"]);
      expect(piped.exitCode).toBe(0);
      expect(piped.stdout.replace(/\r/g, "")).toBe("is-a-tty\n");
    } finally {
      user.bunc(["delete", "--force", cid]);
    }
  });
});
