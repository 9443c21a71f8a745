// systemd socket activation through bunc, as runc does it: with LISTEN_PID naming bunc and
// LISTEN_FDS=N, fds 3..3+N-1 reach the container's process (before any --preserve-fds),
// whose environment says LISTEN_FDS=N and LISTEN_PID=1.
import { expect, test } from "bun:test";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buncPath } from "./support/bunc.ts";
import { containerFixture } from "./support/assertions.ts";

const fx = containerFixture();

/** Runs bunc from a shell that sets LISTEN_PID to bunc's own pid ($$ survives the exec). */
function runActivated(extraArgs: string[], script: string, fds: number[]) {
  const b = fx.bundle({ args: ["sh", "-c", script] });
  const id = fx.rt.id();
  const bunc = [buncPath(), "--root", fx.rt.root, "run", ...extraArgs, "--bundle", b.dir, id].map((a) => `'${a}'`).join(" ");
  const r = Bun.spawnSync(["sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec ${bunc}`], {
    stdio: ["ignore", "pipe", "pipe", ...fds],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    timeout: 30_000,
  });
  return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test("the activation fd reaches the process at fd 3, with LISTEN_FDS=1 and LISTEN_PID=1", () => {
  const file = join(fx.bundle({ args: ["true"] }).dir, "socket-standin");
  const fd = openSync(file, "w");
  try {
    const r = runActivated([], 'echo "$LISTEN_FDS $LISTEN_PID"; echo through-fd-3 >&3', [fd]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("1 1\n");
  } finally {
    closeSync(fd);
  }
  expect(readFileSync(file, "utf8")).toBe("through-fd-3\n");
});

test("--preserve-fds come after the activation fds", () => {
  const dir = fx.bundle({ args: ["true"] }).dir;
  const [a, b] = [join(dir, "activation"), join(dir, "preserved")];
  const fds = [openSync(a, "w"), openSync(b, "w")];
  try {
    const r = runActivated(["--preserve-fds", "1"], "echo one >&3; echo two >&4", fds);
    expect(r.exitCode).toBe(0);
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  expect(readFileSync(a, "utf8")).toBe("one\n");
  expect(readFileSync(b, "utf8")).toBe("two\n");
});

test("LISTEN_PID of another process is ignored: no fd passes, no LISTEN_ variables", () => {
  const b = fx.bundle({ args: ["sh", "-c", 'echo "[$LISTEN_FDS]"; ls /proc/self/fd | wc -l'] });
  const id = fx.rt.id();
  const r = Bun.spawnSync([buncPath(), "--root", fx.rt.root, "run", "--bundle", b.dir, id], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LISTEN_PID: "1", LISTEN_FDS: "1" },
    timeout: 30_000,
  });
  expect(r.exitCode).toBe(0);
  // 0, 1, 2 and ls's own directory fd
  expect(r.stdout.toString()).toBe("[]\n4\n");
});

test("--preserve-fds 2 passes fds 3 and 4 (fd 4 is close-on-exec in any Bun process until cleared)", () => {
  const dir = fx.bundle({ args: ["true"] }).dir;
  const [a, b] = [join(dir, "three"), join(dir, "four")];
  const fds = [openSync(a, "w"), openSync(b, "w")];
  const c = fx.bundle({ args: ["sh", "-c", "echo three >&3; echo four >&4"] });
  try {
    const r = Bun.spawnSync([buncPath(), "--root", fx.rt.root, "run", "--preserve-fds", "2", "--bundle", c.dir, fx.rt.id()], {
      stdio: ["ignore", "pipe", "pipe", ...fds],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      timeout: 30_000,
    });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  expect(readFileSync(a, "utf8")).toBe("three\n");
  expect(readFileSync(b, "utf8")).toBe("four\n");
});
