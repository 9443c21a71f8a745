// runtime.md: the lifecycle (create, start, state, kill, delete), the errors each operation
// must raise in the wrong status, and runc's `run` and `list` built on them.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BuncResult } from "./support/bunc.ts";
import type { Bundle } from "./support/bundle.ts";
import {
  bindMount,
  containerFixture,
  expectOk,
  expectRefused,
  hostDir,
  isLiveProcess,
  readlinkOr,
  readOr,
  stateOf,
  waitFor,
} from "./support/assertions.ts";

const fx = containerFixture();

/** A bundle whose /x is the host dir `shared`, running `script` with sh -c. */
function scriptBundle(script: string): { b: Bundle; shared: string } {
  const b = fx.bundle({ args: ["sh", "-c", script] });
  const shared = hostDir(b);
  b.config.mounts!.push(bindMount(shared, "/x"));
  b.writeConfig();
  return { b, shared };
}

// Appends one line, then stays up until the host creates shared/stop.
const ONCE_THEN_WAIT = "echo ran >> /x/log; while [ ! -e /x/stop ]; do sleep 0.1; done";

const create = (b: Bundle, id: string, extra: string[] = []) => fx.rt.bunc(["create", ...extra, "--bundle", b.dir, id]);
const state = (id: string) => fx.rt.bunc(["state", id]);
const statusOf = (id: string) => stateOf(state(id)).status;
const waitStatus = (id: string, status: string) => waitFor(() => statusOf(id) === status, `${id} to be ${status}`);
const lines = (path: string) => readOr(path).split("\n").filter(Boolean);

describe("create and start", () => {
  test("create leaves a live process in status created, with the pid of --pid-file, that has not run yet", () => {
    const { b, shared } = scriptBundle(ONCE_THEN_WAIT);
    b.config.annotations = { "org.example.key": "value" };
    b.writeConfig();
    const id = fx.rt.id();
    const pidFile = join(b.dir, "container.pid");
    expectOk(create(b, id, ["--pid-file", pidFile]));
    const s = stateOf(state(id));
    expect(s.ociVersion).toBe("1.2.0");
    expect(s.status).toBe("created");
    expect(s.id).toBe(id);
    expect(s.bundle).toBe(b.dir);
    expect(s.annotations).toEqual({ "org.example.key": "value" });
    expect(s.pid).toBeGreaterThan(0);
    expect(readFileSync(pidFile, "utf8").trim()).toBe(String(s.pid));
    expect(isLiveProcess(s.pid)).toBe(true);
    expect(lines(join(shared, "log"))).toEqual([]);
  });

  test("start runs the process exactly once; then it is running, and stopped after it exits", () => {
    const { b, shared } = scriptBundle(ONCE_THEN_WAIT);
    const id = fx.rt.id();
    expectOk(create(b, id));
    expectOk(fx.rt.bunc(["start", id]));
    expect(statusOf(id)).toBe("running");
    waitFor(() => lines(join(shared, "log")).length > 0, "the process to write its line");
    writeFileSync(join(shared, "stop"), "");
    waitStatus(id, "stopped");
    expect(stateOf(state(id)).pid).toBe(0);
    expect(lines(join(shared, "log"))).toEqual(["ran"]);
  });

  test("a second start fails and does not run the process again", () => {
    const { b, shared } = scriptBundle("echo ran >> /x/log");
    const id = fx.rt.id();
    expectOk(create(b, id));
    expectOk(fx.rt.bunc(["start", id]));
    waitStatus(id, "stopped");
    expectRefused(fx.rt.bunc(["start", id]), id);
    expect(lines(join(shared, "log"))).toEqual(["ran"]);
  });

  test("a second start of a running container fails and leaves it running", () => {
    const { b, shared } = scriptBundle(ONCE_THEN_WAIT);
    const id = fx.rt.id();
    expectOk(create(b, id));
    expectOk(fx.rt.bunc(["start", id]));
    expectRefused(fx.rt.bunc(["start", id]), id);
    expect(statusOf(id)).toBe("running");
    writeFileSync(join(shared, "stop"), "");
    waitStatus(id, "stopped");
    expect(lines(join(shared, "log"))).toEqual(["ran"]);
  });

  test("config changes after create do not affect start", () => {
    const { b, shared } = scriptBundle("echo original >> /x/log");
    const id = fx.rt.id();
    expectOk(create(b, id));
    b.config.process.args = ["sh", "-c", "echo edited >> /x/log"];
    b.writeConfig();
    expectOk(fx.rt.bunc(["start", id]));
    waitStatus(id, "stopped");
    expect(lines(join(shared, "log"))).toEqual(["original"]);
  });

  test("a duplicate id is refused and the first container is unaffected", () => {
    const { b, shared } = scriptBundle("echo first >> /x/log");
    const id = fx.rt.id();
    expectOk(create(b, id));
    const before = stateOf(state(id));
    const other = scriptBundle("echo second >> /x/log");
    expectRefused(create(other.b, id), id);
    const after = stateOf(state(id));
    expect(after).toEqual(before);
    expect(isLiveProcess(after.pid)).toBe(true);
    expectOk(fx.rt.bunc(["start", id]));
    waitStatus(id, "stopped");
    expect(lines(join(shared, "log"))).toEqual(["first"]);
    expect(lines(join(other.shared, "log"))).toEqual([]);
  });
});

describe("kill and delete", () => {
  test("kill of a stopped container fails", () => {
    const { b } = scriptBundle("true");
    const id = fx.rt.id();
    expectOk(create(b, id));
    expectOk(fx.rt.bunc(["start", id]));
    waitStatus(id, "stopped");
    // containerd's shim knows "process already finished" by runc's words.
    expectRefused(fx.rt.bunc(["kill", id, "KILL"]), id, "container not running");
    expect(statusOf(id)).toBe("stopped");
    // --all reaches what is left in its cgroup (nothing here) and succeeds, as runc's does.
    expectOk(fx.rt.bunc(["kill", "--all", id, "KILL"]));
    expect(JSON.parse(expectOk(fx.rt.bunc(["ps", "--format", "json", id])))).toEqual([]);
    expect(statusOf(id)).toBe("stopped");
  });

  test("delete without -f of a created container fails and leaves it intact", () => {
    const { b } = scriptBundle(ONCE_THEN_WAIT);
    const id = fx.rt.id();
    expectOk(create(b, id));
    const before = stateOf(state(id));
    expectRefused(fx.rt.bunc(["delete", id]), id);
    expect(stateOf(state(id))).toEqual(before);
    expect(isLiveProcess(before.pid)).toBe(true);
  });

  test("delete without -f of a running container fails and leaves it running", () => {
    const { b } = scriptBundle(ONCE_THEN_WAIT);
    const id = fx.rt.id();
    expectOk(create(b, id));
    expectOk(fx.rt.bunc(["start", id]));
    expectRefused(fx.rt.bunc(["delete", id]), id);
    const s = stateOf(state(id));
    expect(s.status).toBe("running");
    expect(isLiveProcess(s.pid)).toBe(true);
  });

  test("delete -f of a running container kills it and removes it", () => {
    const { b } = scriptBundle(ONCE_THEN_WAIT);
    const id = fx.rt.id();
    expectOk(create(b, id));
    expectOk(fx.rt.bunc(["start", id]));
    const { pid } = stateOf(state(id));
    expectOk(fx.rt.bunc(["delete", "-f", id]));
    expect(isLiveProcess(pid)).toBe(false);
    expectRefused(state(id), id);
    fx.rt.assertNoLeftovers();
  });

  test("delete of a stopped container removes it", () => {
    const { b } = scriptBundle("true");
    const id = fx.rt.id();
    expectOk(create(b, id));
    expectOk(fx.rt.bunc(["start", id]));
    waitStatus(id, "stopped");
    expectOk(fx.rt.bunc(["delete", id]));
    expectRefused(state(id), id);
    fx.rt.assertNoLeftovers();
  });

  test("kill of a created container stops it, and delete then removes it", () => {
    const { b, shared } = scriptBundle(ONCE_THEN_WAIT);
    const id = fx.rt.id();
    expectOk(create(b, id));
    const { pid } = stateOf(state(id));
    expectOk(fx.rt.bunc(["kill", id, "KILL"]));
    waitStatus(id, "stopped");
    expect(isLiveProcess(pid)).toBe(false);
    expectOk(fx.rt.bunc(["delete", id]));
    expect(lines(join(shared, "log"))).toEqual([]);
    fx.rt.assertNoLeftovers();
  });

  test("delete -f of a created container removes it without running it", () => {
    const { b, shared } = scriptBundle(ONCE_THEN_WAIT);
    const id = fx.rt.id();
    expectOk(create(b, id));
    const { pid } = stateOf(state(id));
    expectOk(fx.rt.bunc(["delete", "-f", id]));
    expect(isLiveProcess(pid)).toBe(false);
    expect(lines(join(shared, "log"))).toEqual([]);
    fx.rt.assertNoLeftovers();
  });

  test("an unknown signal is refused by name", () => {
    const { b } = scriptBundle(ONCE_THEN_WAIT);
    const id = fx.rt.id();
    expectOk(create(b, id));
    expectRefused(fx.rt.bunc(["kill", id, "SIGNOPE"]), "SIGNOPE");
    expect(statusOf(id)).toBe("created");
  });

  // pid 1 of a pid namespace gets only signals it has a handler for: the trap is needed.
  for (const signal of ["TERM", "SIGTERM", "15", undefined]) {
    test(signal ? `kill ID ${signal} delivers SIGTERM` : "kill without a signal sends SIGTERM", () => {
      const { b, shared } = scriptBundle('trap "echo got >> /x/f; exit 3" TERM; echo up > /x/ready; while :; do sleep 0.1; done');
      const id = fx.rt.id();
      expectOk(create(b, id));
      expectOk(fx.rt.bunc(["start", id]));
      waitFor(() => existsSync(join(shared, "ready")), "the trap to be set");
      expectOk(fx.rt.bunc(["kill", id, ...(signal ? [signal] : [])]));
      waitStatus(id, "stopped");
      expect(lines(join(shared, "f"))).toEqual(["got"]);
    });
  }

  // The init traps TERM and lives on; its child `sleep 1000` has no handler and dies only
  // when the signal goes to every process of the container.
  const FAMILY = 'trap "echo trapped >> /x/f" TERM; sleep 1000 & echo up > /x/ready; while :; do sleep 0.1; done';
  const sleepers = (initPid: number) => {
    const ns = readlinkOr(`/proc/${initPid}/ns/pid`);
    return readdirSync("/proc")
      .filter((n) => /^\d+$/.test(n) && isLiveProcess(Number(n)))
      .filter((n) => readlinkOr(`/proc/${n}/ns/pid`) === ns && readOr(`/proc/${n}/cmdline`) === "sleep\u00001000\u0000");
  };

  test("kill without -a signals only the init", () => {
    const { b, shared } = scriptBundle(FAMILY);
    const id = fx.rt.id();
    expectOk(create(b, id));
    expectOk(fx.rt.bunc(["start", id]));
    waitFor(() => existsSync(join(shared, "ready")), "the child to start");
    const { pid } = stateOf(state(id));
    expect(sleepers(pid)).toHaveLength(1);
    expectOk(fx.rt.bunc(["kill", id, "TERM"]));
    waitFor(() => lines(join(shared, "f")).length > 0, "the init's trap");
    expect(sleepers(pid)).toHaveLength(1);
    expect(statusOf(id)).toBe("running");
  });

  test("kill -a signals every process of the container", () => {
    const { b, shared } = scriptBundle(FAMILY);
    const id = fx.rt.id();
    expectOk(create(b, id));
    expectOk(fx.rt.bunc(["start", id]));
    waitFor(() => existsSync(join(shared, "ready")), "the child to start");
    const { pid } = stateOf(state(id));
    expect(sleepers(pid)).toHaveLength(1);
    expectOk(fx.rt.bunc(["kill", "-a", id, "TERM"]));
    waitFor(() => sleepers(pid).length === 0, "the child to die");
    waitFor(() => lines(join(shared, "f")).length > 0, "the init's trap");
    expect(statusOf(id)).toBe("running");
    expectOk(fx.rt.bunc(["kill", "--all", id, "KILL"]));
    waitStatus(id, "stopped");
  });
});

describe("unknown ids", () => {
  for (const args of [["state"], ["start"], ["kill"], ["kill", "KILL"], ["delete"], ["ps"]]) {
    test(`${args.join(" ")} of an unknown id fails and names it`, () => {
      const id = fx.rt.id("nosuch");
      const [command, ...rest] = args;
      // the signal goes after the id, flags before it
      const argv = rest[0] === "KILL" ? [command!, id, "KILL"] : [command!, ...rest, id];
      expectRefused(fx.rt.bunc(argv), id);
      fx.rt.assertNoLeftovers();
    });
  }

  test("--log FILE --log-format json: the file gets a JSON error line, stderr the plain message", () => {
    const id = fx.rt.id("nosuch");
    const logFile = join(fx.rt.base, `${id}.log`);
    const r = fx.rt.bunc(["--log", logFile, "--log-format", "json", "state", id]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`bunc: container "${id}" does not exist\n`);
    const line = JSON.parse(readFileSync(logFile, "utf8"));
    expect(line).toEqual({ level: "error", msg: `container "${id}" does not exist`, time: expect.any(String) });
    const bare = fx.rt.bunc(["--log-format", "json", "state", id]);
    expect(JSON.parse(bare.stderr)).toEqual({ level: "error", msg: `container "${id}" does not exist`, time: expect.any(String) });
  });

  test("delete -f of an unknown id succeeds and removes a state dir left without state, as runc's", () => {
    const id = fx.rt.id("nosuch");
    expectOk(fx.rt.bunc(["delete", "-f", id]));
    mkdirSync(join(fx.rt.root, id));
    expectRefused(fx.rt.bunc(["delete", id]), id, "does not exist");
    expectOk(fx.rt.bunc(["delete", "--force", id]));
    expect(existsSync(join(fx.rt.root, id))).toBe(false);
    fx.rt.assertNoLeftovers();
  });
});

describe("list", () => {
  function twoContainers() {
    const a = scriptBundle(ONCE_THEN_WAIT);
    const c = scriptBundle(ONCE_THEN_WAIT);
    const created = fx.rt.id();
    const running = fx.rt.id();
    expectOk(create(a.b, created));
    expectOk(create(c.b, running));
    expectOk(fx.rt.bunc(["start", running]));
    return { created, running, bundles: { [created]: a.b.dir, [running]: c.b.dir } };
  }

  test("the table has a header and one row per container with its status", () => {
    const { created, running, bundles } = twoContainers();
    const rows = expectOk(fx.rt.bunc(["list"])).trimEnd().split("\n");
    expect(rows[0]!.split(/\s+/)).toEqual(["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]);
    const byId = Object.fromEntries(rows.slice(1).map((r) => [r.split(/\s+/)[0], r.split(/\s+/)]));
    expect(Object.keys(byId).sort()).toEqual([created, running].sort());
    expect(byId[created]![2]).toBe("created");
    expect(byId[running]![2]).toBe("running");
    expect(byId[created]![1]).toBe(String(stateOf(state(created)).pid));
    expect(byId[running]![3]).toBe(bundles[running]);
  });

  test("--format json gives the state of each container", () => {
    const { created, running, bundles } = twoContainers();
    const list = JSON.parse(expectOk(fx.rt.bunc(["list", "--format", "json"]))) as { id: string; status: string; pid: number; bundle: string }[];
    expect(list.map((c) => c.id).sort()).toEqual([created, running].sort());
    for (const c of list) {
      expect(c.status).toBe(c.id === created ? "created" : "running");
      expect(c.bundle).toBe(bundles[c.id]!);
      expect(c.pid).toBe(stateOf(state(c.id)).pid);
    }
  });

  test("-q prints the ids only; an empty state dir lists nothing", () => {
    expect(JSON.parse(expectOk(fx.rt.bunc(["list", "-f", "json"])))).toEqual([]);
    expect(expectOk(fx.rt.bunc(["list", "-q"]))).toBe("");
    const { created, running } = twoContainers();
    expect(expectOk(fx.rt.bunc(["list", "-q"])).trimEnd().split("\n").sort()).toEqual([created, running].sort());
  });
});

describe("run", () => {
  const run = (b: Bundle, args: string[] = []): [BuncResult, string] => {
    const id = fx.rt.id();
    return [fx.rt.bunc(["run", ...args, "--bundle", b.dir, id]), id];
  };

  test("the exit code is the process's, and no state is left without --keep", () => {
    const [r, id] = run(fx.bundle({ args: ["sh", "-c", "echo out; exit 7"] }));
    expect(r.exitCode).toBe(7);
    expect(r.stdout).toBe("out\n");
    expect(existsSync(join(fx.rt.root, id))).toBe(false);
    fx.rt.assertNoLeftovers();
  });

  test("a process killed by SIGKILL gives 137", async () => {
    const { b, shared } = scriptBundle("echo up > /x/ready; while :; do sleep 0.1; done");
    const id = fx.rt.id();
    const child = fx.rt.spawn(["run", "--bundle", b.dir, id], { stdout: "ignore", stderr: "ignore" });
    try {
      waitFor(() => existsSync(join(shared, "ready")), "the container to run");
      expectOk(fx.rt.bunc(["kill", id, "KILL"]));
      expect(await child.exited).toBe(137);
    } finally {
      child.kill("SIGKILL");
    }
    fx.rt.assertNoLeftovers();
  });

  // Only outside a pid namespace: its pid 1 cannot be killed from inside.
  test("a process that SIGKILLs itself gives 137", () => {
    const b = fx.bundle({ args: ["sh", "-c", "kill -9 $$"], mutate: (c) => (c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== "pid")) });
    expect(run(b)[0].exitCode).toBe(137);
    fx.rt.assertNoLeftovers();
  });

  test("stdin, stdout and stderr are bunc's", () => {
    const b = fx.bundle({ args: ["sh", "-c", "read line; echo out:$line; echo err:$line >&2"] });
    const r = fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()], { stdin: "hello\n" });
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, "out:hello\n", "err:hello\n"]);
  });

  test("signals sent to a foreground run reach the container", async () => {
    const { b, shared } = scriptBundle('trap "echo got >> /x/f; exit 5" TERM; echo up > /x/ready; while :; do sleep 0.1; done');
    const child = fx.rt.spawn(["run", "--bundle", b.dir, fx.rt.id()], { stdout: "ignore", stderr: "ignore" });
    try {
      waitFor(() => existsSync(join(shared, "ready")), "the container to run");
      child.kill("SIGTERM");
      expect(await child.exited).toBe(5);
      expect(lines(join(shared, "f"))).toEqual(["got"]);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("-d returns while the container runs", () => {
    const { b } = scriptBundle(ONCE_THEN_WAIT);
    const [r, id] = run(b, ["-d"]);
    expectOk(r);
    const s = stateOf(state(id));
    expect(s.status).toBe("running");
    expect(isLiveProcess(s.pid)).toBe(true);
  });

  test("--keep keeps the state of the stopped container", () => {
    const [r, id] = run(fx.bundle({ args: ["true"] }), ["--keep"]);
    expectOk(r);
    expect(statusOf(id)).toBe("stopped");
    expectOk(fx.rt.bunc(["delete", id]));
    fx.rt.assertNoLeftovers();
  });

  test("a missing program exits 127 with a message naming it", () => {
    const [r] = run(fx.bundle({ args: ["/bin/no-such-program"] }));
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toContain("no-such-program");
    fx.rt.assertNoLeftovers();
  });

  test("a program not on PATH exits 127 with a message naming it", () => {
    const [r] = run(fx.bundle({ args: ["no-such-command"] }));
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toContain("no-such-command");
    fx.rt.assertNoLeftovers();
  });

  test("a program that is not executable exits 126 with a message naming it", () => {
    const b = fx.bundle({ args: ["/bin/not-executable"], files: { "bin/not-executable": { content: "#!/bin/sh\n", mode: 0o644 } } });
    chmodSync(join(b.rootfs, "bin/not-executable"), 0o644);
    const [r] = run(b);
    expect(r.exitCode).toBe(126);
    expect(r.stderr).toContain("not-executable");
    fx.rt.assertNoLeftovers();
  });
});
