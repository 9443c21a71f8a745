// containerd drives the runtime through its io.containerd.runc.v2 shim, as it drives runc:
// `ctr run --runc-binary B --runc-root R`, against a private containerd. Every scenario runs
// with bunc and with runc, so a failure can be told from a limit of the machine.
//
// What the shim runs (captured with an argv-logging wrapper, runc 1.1 and containerd 1.6):
// every call has `--root R/<namespace> --log BUNDLE/log.json --log-format json`, with the
// bundle (whose config has `root.path: "rootfs"`) as cwd, and
//   create --bundle BUNDLE --pid-file BUNDLE/init.pid [--console-socket S] ID
//   start ID
//   exec --process /tmp/runc-processN [--console-socket S] --detach --pid-file BUNDLE/EXEC.pid ID
//        (the terminal is asked for in the process file only)
//   ps --format json ID              ctr task ps
//   pause ID / resume ID
//   kill ID 15 / kill --all ID 9     ctr task kill [-a] [-s SIGKILL]
//   delete ID, then delete --force ID  when a task is removed
// With a terminal the shim reads create's output until EOF before it takes the pty master: a
// create must leave nothing of its stdio open in the container. "container not running" in a
// kill error is what the shim turns into "process already finished"; "does not exist" makes a
// delete succeed. Errors reach ctr from the last line of log.json. An exec into a stopped task
// or an unknown container is refused by containerd itself. With the host's pid namespace the
// shim sends `kill --all ID 9` once the init has exited, to a stopped container.
// Not covered: `ctr run --uidmap` gives the task options of its own, which replace the
// container's runtime options, so the shim runs plain runc in its default root.
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { buncPath } from "../support/bunc.ts";
import { mountsUnder } from "../support/bundle.ts";
import { cgroupDirs, cgroupMounts, procCgroups } from "../support/cgroups.ts";
import { isLiveProcess, waitFor } from "../support/assertions.ts";
import { PrivateContainerd, type CtrResult, type WrappedRuntime } from "../support/containerd.ts";

setDefaultTimeout(60_000);

const RUNTIMES = [
  { name: "bunc", binary: buncPath() },
  { name: "runc", binary: Bun.which("runc") },
];

// .ci/run installs containerd; elsewhere these tests are skipped, not failed.
const HAVE_CONTAINERD = ["containerd", "ctr", "containerd-shim-runc-v2", "script"].every((tool) => Bun.which(tool));

let cd: PrivateContainerd;
beforeAll(async () => {
  if (HAVE_CONTAINERD) cd = await PrivateContainerd.start();
}, 120_000);
afterAll(async () => {
  await cd?.stop();
}, 120_000);

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/** ctr succeeded; returns its stdout. */
function ok(r: CtrResult): string {
  expect({ exitCode: r.exitCode, stderr: r.stderr, timedOut: r.timedOut }).toEqual({ exitCode: 0, stderr: "", timedOut: false });
  return r.stdout;
}

/** ctr failed (without hanging), its stderr containing each of `texts`. */
function refused(r: CtrResult, ...texts: string[]): void {
  expect(r.timedOut).toBe(false);
  expect(r.exitCode).not.toBe(0);
  for (const t of texts) expect(r.stderr).toContain(t);
}

/** The parent pid of a process, from /proc/<pid>/stat. */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** The signals a process catches (SigCgt of /proc/<pid>/status), bit N-1 for signal N. */
function caughtSignals(pid: number): bigint {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("SigCgt:"));
  return BigInt(`0x${line!.split(/\s+/)[1]}`);
}

/** True if the cgroup freezer holds the process (v1 freezer.state, or v2 cgroup.events). */
function frozen(pid: number): boolean {
  const where = procCgroups(pid);
  const hierarchies = new Set(cgroupMounts().flatMap((h) => h.keys));
  if (hierarchies.has("freezer") && where.freezer) {
    return readFileSync(join(cgroupDirs({ freezer: where.freezer }).freezer!, "freezer.state"), "utf8").trim() === "FROZEN";
  }
  const events = readFileSync(join(cgroupDirs({ unified: where.unified! }).unified!, "cgroup.events"), "utf8");
  return /^frozen 1$/m.test(events);
}

for (const { name, binary } of RUNTIMES) {
  describe.skipIf(!binary || !HAVE_CONTAINERD)(`containerd drives ${name}`, () => {
    let rt: WrappedRuntime;
    const ids: string[] = [];
    beforeAll(() => {
      rt = cd.runtime(name, binary!);
    });
    afterEach(() => {
      for (const id of ids.splice(0)) {
        cd.ctr(["tasks", "delete", "--force", id], { timeoutMs: 20_000 });
        cd.ctr(["containers", "delete", id], { timeoutMs: 20_000 });
      }
    });

    const newId = () => {
      const id = `${name}-${Buffer.from(crypto.getRandomValues(new Uint8Array(4))).toString("hex")}`;
      ids.push(id);
      return id;
    };
    const bundleOf = (id: string) => join(cd.dir, "state", "io.containerd.runtime.v2.task", cd.namespace, id);
    const runtimeState = () => join(rt.root, cd.namespace);
    const run = (args: string[], pty = false) => cd.ctr(["run", ...cd.runFlags(rt), ...args], { pty });
    /** The runtime's calls for `id`, without the global options (checked here), in order. */
    const commandsFor = (id: string) =>
      rt
        .calls()
        .filter((c) => c.argv.includes(id))
        .map((c) => {
          const bundle = bundleOf(id);
          expect(c.cwd).toBe(bundle);
          expect(c.argv.slice(0, 6)).toEqual(["--root", runtimeState(), "--log", join(bundle, "log.json"), "--log-format", "json"]);
          return c.argv.slice(6);
        });
    const detached = (id: string, ...cmd: string[]) => ok(run(["-d", cd.image, id, ...cmd]));
    const task = (id: string) => {
      const row = ok(cd.ctr(["tasks", "list"]))
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .find((f) => f[0] === id);
      return row && { pid: Number(row[1]), status: row[2]! };
    };
    const waitStatus = (id: string, status: string) => waitFor(() => task(id)?.status === status, `task ${id} to be ${status}`);
    const taskPids = (id: string) =>
      ok(cd.ctr(["tasks", "ps", id]))
        .split("\n")
        .slice(1)
        .filter(Boolean)
        .map((l) => Number(l.trim().split(/\s+/)[0]));

    test("run --rm: the output and the exit code pass through; create, start, delete, delete --force", () => {
      const id = newId();
      const r = run(["--rm", cd.image, id, "sh", "-c", "echo out; echo err >&2; exit 3"]);
      expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({ exitCode: 3, stdout: "out\n", stderr: "err\n" });
      const bundle = bundleOf(id);
      expect(commandsFor(id)).toEqual([
        ["create", "--bundle", bundle, "--pid-file", join(bundle, "init.pid"), id],
        ["start", id],
        ["delete", id],
        ["delete", "--force", id],
      ]);
      expect(ok(cd.ctr(["containers", "list", "--quiet"])).split("\n")).not.toContain(id);
      expect(existsSync(join(runtimeState(), id))).toBe(false);
      expect(existsSync(bundle)).toBe(false);
    });

    test("run --rm: stdin reaches the process (the runtime's stdio is the container's)", () => {
      const id = newId();
      const r = cd.ctr(["run", ...cd.runFlags(rt), "--rm", cd.image, id, "sh", "-c", "read line; echo got:$line"], { stdin: "from-stdin\n" });
      expect({ exitCode: r.exitCode, stdout: r.stdout }).toEqual({ exitCode: 0, stdout: "got:from-stdin\n" });
    });

    test("run -d, then exec: output and exit code; exec -t gets a pty through the console socket", () => {
      const id = newId();
      detached(id, "sleep", "1000");
      expect(task(id)?.status).toBe("RUNNING");
      // The init's parent is the shim (a subreaper): that is how it learns the exit code.
      const shim = readFileSync(`/proc/${parentOf(task(id)!.pid)}/cmdline`, "utf8").split("\0");
      expect(shim).toContain("-id");
      expect(shim[shim.indexOf("-id") + 1]).toBe(id);
      const r = cd.ctr(["tasks", "exec", "--exec-id", "e1", id, "sh", "-c", "echo in-exec; exit 4"]);
      expect({ exitCode: r.exitCode, stdout: r.stdout }).toEqual({ exitCode: 4, stdout: "in-exec\n" });
      const t = cd.ctr(["tasks", "exec", "-t", "--exec-id", "e2", id, "sh", "-c", "tty; [ -t 0 ] && echo stdin-is-a-tty; exit 5"], { pty: true });
      expect(t.exitCode).toBe(5);
      // Two ptys (the container's, then ctr's own) each turn \n into \r\n.
      expect(t.stdout).toMatch(/\/dev\/pts\/\d+\r+\n/);
      expect(t.stdout).toContain("stdin-is-a-tty");
      const execs = commandsFor(id).filter((c) => c[0] === "exec");
      expect(execs).toHaveLength(2);
      expect(execs[0]).toEqual(["exec", "--process", expect.any(String), "--detach", "--pid-file", join(bundleOf(id), "e1.pid"), id]);
      expect(execs[1]).toEqual([
        "exec",
        "--process",
        expect.any(String),
        "--console-socket",
        expect.any(String),
        "--detach",
        "--pid-file",
        join(bundleOf(id), "e2.pid"),
        id,
      ]);
    });

    test("task ps lists the container's processes (ps --format json)", () => {
      const id = newId();
      detached(id, "sh", "-c", "sleep 1000 & wait");
      const init = task(id)!.pid;
      const pids = waitFor(() => {
        const p = taskPids(id);
        return p.length === 2 && p;
      }, "two processes in the task");
      expect(pids).toContain(init);
      expect(commandsFor(id)).toContainEqual(["ps", "--format", "json", id]);
    });

    test("task pause freezes the cgroup, resume thaws it", () => {
      const id = newId();
      detached(id, "sleep", "1000");
      const pid = task(id)!.pid;
      ok(cd.ctr(["tasks", "pause", id]));
      expect(task(id)?.status).toBe("PAUSED");
      expect(frozen(pid)).toBe(true);
      ok(cd.ctr(["tasks", "resume", id]));
      expect(task(id)?.status).toBe("RUNNING");
      expect(frozen(pid)).toBe(false);
      expect(commandsFor(id).filter((c) => c[0] === "pause" || c[0] === "resume")).toEqual([
        ["pause", id],
        ["resume", id],
      ]);
    });

    test("task kill sends SIGTERM to the init; its exit code reaches containerd", () => {
      const id = newId();
      detached(id, "sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.1; done");
      // PID 1 ignores a SIGTERM it has no handler for: wait for the trap to be set.
      const pid = task(id)!.pid;
      const SIGTERM_BIT = 1n << 14n;
      waitFor(() => (caughtSignals(pid) & SIGTERM_BIT) !== 0n, "the shell's SIGTERM trap");
      ok(cd.ctr(["tasks", "kill", id]));
      waitStatus(id, "STOPPED");
      const rm = cd.ctr(["tasks", "delete", id]);
      expect(rm.exitCode).toBe(0);
      expect(rm.stderr).toContain("exit code 42");
      expect(commandsFor(id)).toContainEqual(["kill", id, "15"]);
    });

    test("task kill -a reaches every process of the container", () => {
      const id = newId();
      detached(id, "sh", "-c", "sleep 1000 & wait");
      const init = task(id)!.pid;
      const child = waitFor(() => taskPids(id).find((p) => p !== init), "the child")!;
      ok(cd.ctr(["tasks", "kill", "--all", "--signal", "SIGKILL", id]));
      waitStatus(id, "STOPPED");
      waitFor(() => !isLiveProcess(child), "the child to die");
      expect(commandsFor(id)).toContainEqual(["kill", "--all", id, "9"]);
      expect(cd.ctr(["tasks", "delete", id]).stderr).toContain("exit code 137");
    });

    test("host pid namespace: when the init exits, the shim's kill --all takes what it left", () => {
      const id = newId();
      const r = run(["--rm", "--with-ns", `pid:/proc/${process.pid}/ns/pid`, cd.image, id, "sh", "-c", "sleep 1000 & echo $!"]);
      expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
      const orphan = Number(r.stdout.trim());
      expect(orphan).toBeGreaterThan(1);
      waitFor(() => !isLiveProcess(orphan), "the init's child to die");
      expect(commandsFor(id).map((c) => c.join(" "))).toContain(`kill --all ${id} 9`);
      // … and the runtime took it without an error (the shim would log one).
      expect(cd.log().split("\n").filter((l) => l.includes(id) && l.includes("level=error"))).toEqual([]);
    });

    test("task kill of a stopped task: process already finished, from the runtime's log", () => {
      const id = newId();
      detached(id, "true");
      waitStatus(id, "STOPPED");
      refused(cd.ctr(["tasks", "kill", "--signal", "SIGKILL", id]), "process already finished");
      expect(commandsFor(id).at(-1)).toEqual(["kill", id, "9"]);
      // The shim read the refusal from log.json: one JSON object a line, an RFC 3339 time.
      const lines = readFileSync(join(bundleOf(id), "log.json"), "utf8").trim().split("\n");
      const last = JSON.parse(lines.at(-1)!) as { level: string; msg: string; time: string };
      expect(last.level).toBe("error");
      expect(last.msg).toContain("container not running");
      expect(last.time).toMatch(RFC3339);
      ok(cd.ctr(["tasks", "kill", "--all", "--signal", "SIGKILL", id]));
    });

    test("task rm and container rm remove the runtime's state, the bundle and its mounts", () => {
      const id = newId();
      detached(id, "sh", "-c", "exit 7");
      waitStatus(id, "STOPPED");
      expect(existsSync(join(runtimeState(), id))).toBe(true);
      const rm = cd.ctr(["tasks", "delete", id]);
      expect(rm.exitCode).toBe(0);
      expect(rm.stderr).toContain("exit code 7");
      expect(commandsFor(id).slice(-2)).toEqual([
        ["delete", id],
        ["delete", "--force", id],
      ]);
      expect(existsSync(join(runtimeState(), id))).toBe(false);
      ok(cd.ctr(["containers", "delete", id]));
      expect(ok(cd.ctr(["containers", "list", "--quiet"])).split("\n")).not.toContain(id);
      expect(existsSync(bundleOf(id))).toBe(false);
      expect(mountsUnder(bundleOf(id))).toEqual([]);
    });

    test("run -t: the process has a pty from the console socket; the exit code passes through", () => {
      const id = newId();
      const r = run(["-t", "--rm", cd.image, id, "sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo all-ttys; exit 6"], true);
      expect(r.timedOut).toBe(false);
      expect(r.exitCode).toBe(6);
      expect(r.stdout).toMatch(/\/dev\/pts\/0\r+\n/);
      expect(r.stdout).toContain("all-ttys");
      const create = commandsFor(id)[0]!;
      expect(create.slice(0, 5)).toEqual(["create", "--bundle", bundleOf(id), "--pid-file", join(bundleOf(id), "init.pid")]);
      expect(create.slice(5)).toEqual(["--console-socket", expect.any(String), id]);
    });

    test("task metrics: the shim reads the stats of the cgroup the runtime made", () => {
      const id = newId();
      detached(id, "sleep", "1000");
      const m = JSON.parse(ok(cd.ctr(["tasks", "metrics", "--format", "json", id]))) as {
        pids?: { current?: number };
        memory?: { usage?: number | { usage?: number } };
      };
      expect(m.pids?.current).toBe(1);
      const usage = m.memory?.usage;
      expect(typeof usage === "number" ? usage : usage?.usage).toBeGreaterThan(0);
    });

    test("ctr run's config options: --privileged, --read-only, --net-host, --cwd and --env, --seccomp", () => {
      const probe = (...flags: string[]) => {
        const id = newId();
        const script = "grep -E '^(CapEff|Seccomp):' /proc/self/status; ls /dev | wc -l; touch /probe 2>/dev/null && echo writable || echo read-only; pwd; echo env:$A; readlink /proc/self/ns/net";
        const r = run(["--rm", ...flags, cd.image, id, "sh", "-c", script]);
        expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
        const [capEff, seccomp, devices, touch, cwd, env, net] = r.stdout.trimEnd().split("\n");
        return { caps: BigInt(`0x${capEff!.split(/\s+/)[1]}`), seccomp: seccomp!.split(/\s+/)[1], devices: Number(devices), touch, cwd, env, net };
      };
      const CAP_SYS_ADMIN = 1n << 21n;
      const plain = probe();
      expect(plain.caps & CAP_SYS_ADMIN).toBe(0n);
      expect(plain.seccomp).toBe("0");
      expect(plain.touch).toBe("writable");
      expect(plain.net).not.toBe(readlinkSync("/proc/self/ns/net"));
      const privileged = probe("--privileged");
      expect(privileged.caps & CAP_SYS_ADMIN).toBe(CAP_SYS_ADMIN);
      expect(privileged.devices).toBeGreaterThan(plain.devices);
      expect(probe("--read-only").touch).toBe("read-only");
      expect(probe("--net-host").net).toBe(readlinkSync("/proc/self/ns/net"));
      expect(probe("--cwd", "/tmp", "--env", "A=from-ctr")).toMatchObject({ cwd: "/tmp", env: "env:from-ctr" });
      expect(probe("--seccomp").seccomp).toBe("2");
    });

    test("a memory limit from ctr run reaches the cgroup the shim reads", () => {
      const id = newId();
      const limit = 64 * 1024 * 1024;
      ok(run(["-d", "--memory-limit", String(limit), cd.image, id, "sleep", "1000"]));
      const m = JSON.parse(ok(cd.ctr(["tasks", "metrics", "--format", "json", id]))) as {
        memory?: { usage?: number | { limit?: number }; usage_limit?: number };
      };
      const usage = m.memory?.usage;
      expect(typeof usage === "number" ? m.memory?.usage_limit : usage?.limit).toBe(limit);
    });

    test("a program that does not exist: containerd's error carries the runtime's own message", () => {
      const id = newId();
      const r = run(["--rm", cd.image, id, "/nonexistent"]);
      refused(r, "OCI runtime create failed", 'exec: "/nonexistent"', "no such file or directory");
      expect(r.stderr).not.toContain("unable to retrieve OCI runtime error");
      expect(commandsFor(id).map((c) => c[0])).toEqual(["create", "delete"]);
      expect(existsSync(join(runtimeState(), id))).toBe(false);
      expect(ok(cd.ctr(["containers", "list", "--quiet"])).split("\n")).not.toContain(id);
    });

    test("exec of a program that does not exist: containerd's error carries the runtime's message", () => {
      const id = newId();
      detached(id, "sleep", "1000");
      const r = cd.ctr(["tasks", "exec", "--exec-id", "e1", id, "/nonexistent"]);
      refused(r, "OCI runtime exec failed", 'exec: "/nonexistent"', "no such file or directory");
      expect(r.stderr).not.toContain("unable to retrieve OCI runtime error");
      // The task goes on, and takes another exec.
      expect(task(id)?.status).toBe("RUNNING");
      expect(cd.ctr(["tasks", "exec", "--exec-id", "e2", id, "true"]).exitCode).toBe(0);
      expect(taskPids(id)).toEqual([task(id)!.pid]);
    });

    test("exec into a stopped task or an unknown container is refused", () => {
      const id = newId();
      detached(id, "true");
      waitStatus(id, "STOPPED");
      refused(cd.ctr(["tasks", "exec", "--exec-id", "x", id, "true"]), "cannot exec in a stopped state");
      const unknown = `${id}-nosuch`;
      refused(cd.ctr(["tasks", "exec", "--exec-id", "x", unknown, "true"]), unknown, "not found");
      expect(commandsFor(id).filter((c) => c[0] === "exec")).toEqual([]);
    });

    test("nothing of the runtime's is left once its tasks are gone", () => {
      // Earlier tests' tasks were deleted after each: the runtime's state dir is empty.
      // "@cache" holds bunc's compiled seccomp filters: not a container's.
      const left = existsSync(runtimeState()) ? readdirSync(runtimeState()).filter((n) => n !== "@cache") : [];
      expect(left).toEqual([]);
    });
  });
}
