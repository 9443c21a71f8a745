// runc's `exec`: a new process in a running container. It must be in the container's
// namespaces and cgroup, see its rootfs and hostname, get the container's process with the
// flags laid over it (-e, --cwd, -u, --additional-gids, --cap, --no-new-privs, -p), run under
// the container's seccomp filter, and report its exit as runc does: the process's code,
// 128+N for a signal N, 126/127 when the program cannot run, 255 for bunc's own failures.
// Every container here runs `sleep 1000` with a tmpfs on /tmp (the rootfs is read-only); the
// host looks into it through /proc/<init pid>/root.
import { describe, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { capMask, containerFixture, expectOk, expectRefused, isLiveProcess, nsLink, procStatus, readOr, stateOf, waitFor } from "./support/assertions.ts";
import { type BuncOptions, type BuncResult, buncPath } from "./support/bunc.ts";
import type { Bundle, BundleOptions } from "./support/bundle.ts";

const fx = containerFixture();

const DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
const CONFIG_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "FROM_CONFIG=yes"];

interface Running {
  b: Bundle;
  id: string;
  /** The init's host pid. */
  pid: number;
  /** A path in the container's /tmp, seen from the host. */
  tmp: (name: string) => string;
}

/** Runs `sleep 1000` detached (with a tmpfs /tmp, FROM_CONFIG=yes in its env, hostname
 *  exec-box and a file only its rootfs has) and waits until it is running. */
function running(opts: BundleOptions = {}): Running {
  const b = fx.bundle({
    args: ["sleep", "1000"],
    files: { "etc/only-in-rootfs": "rootfs marker\n" },
    ...opts,
    config: { hostname: "exec-box", ...opts.config, process: { env: CONFIG_ENV, ...opts.config?.process } },
    mutate: (c) => {
      c.mounts!.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"] });
      opts.mutate?.(c);
    },
  });
  const id = fx.rt.id();
  expectOk(fx.rt.bunc(["run", "-d", "--bundle", b.dir, id]));
  const s = stateOf(fx.rt.bunc(["state", id]));
  expect(s.status).toBe("running");
  return { b, id, pid: s.pid, tmp: (name) => `/proc/${s.pid}/root/tmp/${name}` };
}

/** `bunc exec FLAGS… ID CMD…`, bounded at 20 s. */
const exec = (c: Running, flags: string[], cmd: string[], opts: BuncOptions = {}): BuncResult =>
  fx.rt.bunc(["exec", ...flags, c.id, ...cmd], { timeoutMs: 20_000, ...opts });

/** exec that must succeed without stderr; returns stdout. */
const out = (c: Running, flags: string[], cmd: string[], opts: BuncOptions = {}) => expectOk(exec(c, flags, cmd, opts));

/** /proc/self/status of an exec'd `cat`. */
const execStatus = (c: Running, flags: string[] = []) => procStatus(out(c, flags, ["cat", "/proc/self/status"]));

/** A refusal by bunc itself: exit 255, not timed out, stderr matching each pattern. */
function expect255(r: BuncResult, ...patterns: (string | RegExp)[]): void {
  expectRefused(r, ...patterns);
  expect(r.exitCode).toBe(255);
}

/** Deletes the container and checks that nothing of it (init, exec'd processes, state,
 *  mounts, cgroups) is left. */
function finish(c: Running, execPids: number[] = []): void {
  expectOk(fx.rt.bunc(["delete", "-f", c.id]));
  for (const pid of execPids) waitFor(() => !isLiveProcess(pid), `exec'd process ${pid} to die`, 5_000);
  fx.rt.assertNoLeftovers();
}

/** The host pid in a --pid-file, once the process it names runs `program` (not bunc). */
function execPidFrom(pidFile: string, program: string): number {
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  expect(Number.isInteger(pid) && pid > 0).toBe(true);
  waitFor(() => readOr(`/proc/${pid}/cmdline`).split("\0")[0] === program, `pid ${pid} to run ${program}`);
  return pid;
}

/** Host pids of the processes in the container's pid namespace other than its init, with
 *  their state letter (`1234 Z`): an exec'd process that is done must not linger there. */
function othersInContainer(c: Running): string[] {
  const ns = nsLink(c.pid, "pid");
  const found: string[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === c.pid) continue;
    try {
      if (readlinkSync(`/proc/${pid}/ns/pid`) !== ns) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      found.push(`${pid} ${stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]} ${stat.slice(stat.indexOf("("), stat.lastIndexOf(")") + 1)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe("where the process runs", () => {
  test("in the init's pid, net, ipc, uts, mnt, cgroup and user namespaces", () => {
    const c = running();
    const names = ["pid", "net", "ipc", "uts", "mnt", "cgroup", "user"];
    const script = names.map((n) => `readlink /proc/self/ns/${n}`).join("; ");
    const inside = out(c, [], ["sh", "-c", script]).trimEnd().split("\n");
    expect(inside).toEqual(names.map((n) => nsLink(c.pid, n)));
    // and those are the container's own, not the host's (the user namespace is shared)
    for (const n of ["pid", "net", "ipc", "uts", "mnt", "cgroup"]) expect(`${n} ${nsLink(c.pid, n)}`).not.toBe(`${n} ${nsLink("self", n)}`);
    finish(c);
  });

  test("in a session and process group of its own, as runc's", () => {
    const c = running();
    // cut's process group and session (fields 5, 6) are those of the shell bunc started
    const [groupAndSession, shell] = out(c, [], ["sh", "-c", "cut -d' ' -f5,6 /proc/self/stat; echo $$"]).trimEnd().split("\n");
    expect(groupAndSession).toBe(`${shell} ${shell}`);
    finish(c);
  });

  test("sees the container's rootfs and hostname, and has a small pid", () => {
    const c = running();
    const [marker, hostname, pid] = out(c, [], ["sh", "-c", "cat /etc/only-in-rootfs; hostname; echo $$"]).trimEnd().split("\n");
    expect(marker).toBe("rootfs marker");
    expect(hostname).toBe("exec-box");
    expect(Number(pid)).toBeGreaterThan(1);
    expect(Number(pid)).toBeLessThan(20);
    finish(c);
  });

  test("-d --pid-file: the host pid is in the container's pid namespace and cgroup", () => {
    const c = running();
    const pidFile = join(c.b.dir, "exec.pid");
    expectOk(exec(c, ["-d", "--pid-file", pidFile], ["sleep", "1000"]));
    const pid = execPidFrom(pidFile, "sleep");
    expect(pid).not.toBe(c.pid);
    expect(nsLink(pid, "pid")).toBe(nsLink(c.pid, "pid"));
    expect(nsLink(pid, "mnt")).toBe(nsLink(c.pid, "mnt"));
    // NSpid: the host pid, then a small one in the container
    const nspid = procStatus(readOr(`/proc/${pid}/status`)).NSpid!.split(/\s+/).map(Number);
    expect(nspid).toHaveLength(2);
    expect(nspid[0]).toBe(pid);
    expect(nspid[1]).toBeLessThan(20);
    // every hierarchy's line is the init's
    const cgroups = (p: number) => readOr(`/proc/${p}/cgroup`).trimEnd().split("\n").sort();
    expect(cgroups(c.pid).length).toBeGreaterThan(0);
    expect(cgroups(pid)).toEqual(cgroups(c.pid));
    expect(cgroups(pid).some((l) => l.includes(c.id))).toBe(true);
    finish(c, [pid]);
  });
});

describe("the process: the container's, with the flags laid over it", () => {
  test("env is the container's plus -e additions", () => {
    const c = running();
    const lines = out(c, ["-e", "ADDED=one", "-e", "SPACED=a b"], ["env"]).trimEnd().split("\n");
    expect(lines).toEqual(expect.arrayContaining([...CONFIG_ENV, "ADDED=one", "SPACED=a b"]));
    finish(c);
  });

  test("-e overrides a variable of the config's, the last one wins", () => {
    const c = running();
    expect(out(c, ["-e", "TERM=dumb", "-e", "TERM=vt100"], ["sh", "-c", 'echo "$TERM"; env | grep -c ^TERM='])).toBe("vt100\n1\n");
    finish(c);
  });

  test("--cwd sets the working directory; without it the config's cwd is used", () => {
    const c = running({ config: { process: { cwd: "/etc" } } });
    expect(out(c, [], ["pwd"])).toBe("/etc\n");
    expect(out(c, ["--cwd", "/tmp"], ["pwd"])).toBe("/tmp\n");
    finish(c);
  });

  test("a --cwd that does not exist: 255 naming it, nothing run", () => {
    const c = running();
    expect255(exec(c, ["--cwd", "/no/such/dir"], ["touch", "/tmp/ran"]), "/no/such/dir");
    expect(existsSync(c.tmp("ran"))).toBe(false);
    finish(c);
  });
});

describe("-u and --additional-gids", () => {
  const ids = "id -u; id -g; id -G";

  test("-u 1000: uid 1000, gid 0", () => {
    const c = running();
    expect(out(c, ["-u", "1000"], ["sh", "-c", ids])).toBe("1000\n0\n0\n");
    expect(out(c, ["-u", "1000"], ["id"])).toMatch(/^uid=1000\(user\) gid=0\(root\)/);
    finish(c);
  });

  test("-u 1000:1000", () => {
    const c = running();
    expect(out(c, ["-u", "1000:1000"], ["sh", "-c", ids])).toBe("1000\n1000\n1000\n");
    finish(c);
  });

  test("--additional-gids adds supplementary groups", () => {
    const c = running();
    const [uid, gid, groups] = out(c, ["-u", "1000:1000", "--additional-gids", "100", "--additional-gids", "5"], ["sh", "-c", ids])
      .trimEnd()
      .split("\n");
    expect([uid, gid]).toEqual(["1000", "1000"]);
    expect(groups!.split(" ").sort()).toEqual(["100", "1000", "5"]);
    finish(c);
  });

  // runc lays -u over the config's user: without ":GID" the config's gid stays, and
  // --additional-gids is appended to the config's additionalGids.
  test("-u UID keeps the config's gid, as runc does", () => {
    const c = running({ config: { process: { user: { uid: 1000, gid: 100 } } } });
    expect(out(c, [], ["sh", "-c", "echo $(id -u):$(id -g)"])).toBe("1000:100\n");
    expect(out(c, ["-u", "65534"], ["sh", "-c", "echo $(id -u):$(id -g)"])).toBe("65534:100\n");
    finish(c);
  });

  test("--additional-gids adds to the config's additionalGids, as runc does", () => {
    const c = running({ config: { process: { user: { uid: 1000, gid: 1000, additionalGids: [5] } } } });
    expect(out(c, [], ["id", "-G"]).trim().split(" ").sort()).toEqual(["1000", "5"]);
    expect(out(c, ["--additional-gids", "100"], ["id", "-G"]).trim().split(" ").sort()).toEqual(["100", "1000", "5"]);
    finish(c);
  });

  test.each(["1000:", ":1000", "1000:1000:1", "-1", "4294967296", "abc", "1000x"])("-u %p: 255 naming --user, nothing run", (user) => {
    const c = running();
    const r = exec(c, ["-u", user], ["touch", "/tmp/ran"]);
    expect255(r, "--user");
    expect(r.stdout).toBe("");
    expect(existsSync(c.tmp("ran"))).toBe(false);
    finish(c);
  });

  test("a bad --additional-gids: 255 naming the flag, nothing run", () => {
    const c = running();
    expect255(exec(c, ["--additional-gids", "x"], ["touch", "/tmp/ran"]), "--additional-gids");
    expect(existsSync(c.tmp("ran"))).toBe(false);
    finish(c);
  });
});

describe("--cap and --no-new-privs", () => {
  test("--cap CAP_NET_RAW: in bounding, effective and permitted; never inheritable or ambient (CVE-2022-29162)", () => {
    const c = running();
    const s = execStatus(c, ["--cap", "CAP_NET_RAW"]);
    const withRaw = capMask([...DEFAULT_CAPS, "CAP_NET_RAW"]);
    expect(BigInt(`0x${s.CapEff}`) & (1n << 13n)).toBe(1n << 13n);
    expect(BigInt(`0x${s.CapPrm}`) & (1n << 13n)).toBe(1n << 13n);
    expect({ eff: s.CapEff, prm: s.CapPrm, bnd: s.CapBnd }).toEqual({ eff: withRaw, prm: withRaw, bnd: withRaw });
    expect(s.CapInh).toBe(capMask([]));
    expect(s.CapAmb).toBe(capMask([]));
    // without --cap: the config's sets
    const plain = execStatus(c);
    expect({ eff: plain.CapEff, prm: plain.CapPrm, inh: plain.CapInh }).toEqual({ eff: capMask(DEFAULT_CAPS), prm: capMask(DEFAULT_CAPS), inh: capMask([]) });
    finish(c);
  });

  test("an unknown --cap: 255 naming it, nothing run", () => {
    const c = running();
    expect255(exec(c, ["--cap", "CAP_NO_SUCH_THING"], ["touch", "/tmp/ran"]), "CAP_NO_SUCH_THING");
    expect(existsSync(c.tmp("ran"))).toBe(false);
    finish(c);
  });

  test("--no-new-privs sets NoNewPrivs; without it the config's value holds", () => {
    const off = running({ config: { process: { noNewPrivileges: false } } });
    expect(execStatus(off).NoNewPrivs).toBe("0");
    expect(execStatus(off, ["--no-new-privs"]).NoNewPrivs).toBe("1");
    finish(off);
    const on = running({ config: { process: { noNewPrivileges: true } } });
    expect(execStatus(on).NoNewPrivs).toBe("1");
    finish(on);
  });
});

describe("-p process.json", () => {
  const processJson = {
    terminal: false,
    user: { uid: 1000, gid: 1000 },
    args: ["sh", "-c", 'echo "$FROM_FILE"; pwd; id -u; echo "${FROM_CONFIG:-unset}"'],
    env: ["PATH=/bin", "FROM_FILE=hello"],
    cwd: "/etc",
  };
  // the process is the file's alone: nothing of the config's env comes with it
  const expected = "hello\n/etc\n1000\nunset\n";

  test("from a file", () => {
    const c = running();
    const file = join(c.b.dir, "process.json");
    writeFileSync(file, JSON.stringify(processJson));
    expect(out(c, ["-p", file], [])).toBe(expected);
    finish(c);
  });

  test("from stdin (-)", () => {
    const c = running();
    expect(out(c, ["-p", "-"], [], { stdin: JSON.stringify(processJson) })).toBe(expected);
    finish(c);
  });

  test("a process without args: 255 naming process.args, nothing run", () => {
    const c = running();
    const { args: _, ...noArgs } = processJson;
    const file = join(c.b.dir, "process.json");
    writeFileSync(file, JSON.stringify(noArgs));
    expect255(exec(c, ["-p", file], []), "process.args");
    expect255(exec(c, ["-p", "-"], [], { stdin: JSON.stringify(noArgs) }), "process.args");
    finish(c);
  });

  test("an error in the -p file is reported against that file, not config.json", () => {
    const c = running();
    const file = join(c.b.dir, "process.json");
    writeFileSync(file, JSON.stringify({ ...processJson, args: [] }));
    const r = exec(c, ["-p", file], []);
    expect255(r, "process.args", file);
    expect(r.stderr).not.toContain("config.json");
    finish(c);
  });

  test("invalid JSON: 255 naming the file", () => {
    const c = running();
    const file = join(c.b.dir, "process.json");
    writeFileSync(file, "{ not json");
    expect255(exec(c, ["-p", file], []), file);
    finish(c);
  });
});

describe("errors in the flags", () => {
  // The container's config.json is fine: a bad flag must be reported as the flag.
  test.each([
    [["-e", "NO_EQUALS_SIGN"], "NO_EQUALS_SIGN"],
    [["--cwd", "relative/dir"], "relative/dir"],
  ] as [string[], string][])("%p: 255 naming the value, not blaming config.json; nothing run", (flags, value) => {
    const c = running();
    const r = exec(c, flags, ["touch", "/tmp/ran"]);
    expect255(r, value);
    expect(r.stderr).not.toContain("config.json");
    expect(existsSync(c.tmp("ran"))).toBe(false);
    finish(c);
  });
});

describe("exit codes", () => {
  test("the process's own code", () => {
    const c = running();
    const r = exec(c, [], ["sh", "-c", "echo out; echo err >&2; exit 7"]);
    expect({ code: r.exitCode, out: r.stdout, err: r.stderr }).toEqual({ code: 7, out: "out\n", err: "err\n" });
    expect(exec(c, [], ["true"]).exitCode).toBe(0);
    finish(c);
  });

  test("killed by SIGKILL: 137", () => {
    const c = running();
    // the exec'd shell is not the container's pid 1, so it can be killed from inside
    expect(exec(c, [], ["sh", "-c", "kill -9 $$"]).exitCode).toBe(137);
    expect(exec(c, [], ["sh", "-c", "kill -TERM $$"]).exitCode).toBe(143);
    finish(c);
  });

  test("a program that is not there: 127 naming it", () => {
    const c = running();
    const r = exec(c, [], ["no-such-program", "arg"]);
    expectRefused(r, "no-such-program");
    expect(r.exitCode).toBe(127);
    const abs = exec(c, [], ["/bin/no-such-program"]);
    expectRefused(abs, "/bin/no-such-program");
    expect(abs.exitCode).toBe(127);
    finish(c);
  });

  test("a file that is not executable: 126", () => {
    const c = running();
    expectOk(exec(c, [], ["sh", "-c", "printf '#!/bin/sh\\necho ran\\n' > /tmp/script; chmod 644 /tmp/script"]));
    const r = exec(c, [], ["/tmp/script"]);
    expectRefused(r, "/tmp/script");
    expect(r.exitCode).toBe(126);
    expect(r.stdout).toBe("");
    finish(c);
  });

  // bunc must reap the process it started when that fails before or at execve, as runc does:
  // an orphan is handed to the host's pid 1 (or the caller's subreaper), and until that one gets
  // round to reaping it, a zombie holds a pid in the container (and `delete -f` waits for it).
  test("an exec that fails leaves nothing behind in the container, not even a zombie", () => {
    const c = running();
    expectOk(exec(c, [], ["sh", "-c", "printf '#!/bin/sh\\n' > /tmp/script; chmod 644 /tmp/script"]));
    expect(othersInContainer(c)).toEqual([]);
    expect(exec(c, [], ["no-such-program"]).exitCode).toBe(127);
    expect({ after: "127", left: othersInContainer(c) }).toEqual({ after: "127", left: [] });
    expect(exec(c, [], ["/tmp/script"]).exitCode).toBe(126);
    expect({ after: "126", left: othersInContainer(c) }).toEqual({ after: "126", left: [] });
    expect(exec(c, ["--cwd", "/no/such/dir"], ["true"]).exitCode).toBe(255);
    expect({ after: "bad cwd", left: othersInContainer(c) }).toEqual({ after: "bad cwd", left: [] });
    finish(c);
  });

  test("an unknown container: 255 naming it", () => {
    const id = fx.rt.id();
    expect255(fx.rt.bunc(["exec", id, "true"]), id);
    fx.rt.assertNoLeftovers();
  });

  test("a stopped container: 255 naming its status", () => {
    const b = fx.bundle({ args: ["true"] });
    const id = fx.rt.id();
    expectOk(fx.rt.bunc(["run", "-d", "--bundle", b.dir, id]));
    waitFor(() => stateOf(fx.rt.bunc(["state", id])).status === "stopped", "the container to stop");
    expect255(fx.rt.bunc(["exec", id, "true"]), "stopped");
    expectOk(fx.rt.bunc(["delete", id]));
    fx.rt.assertNoLeftovers();
  });

  test("a paused container: 255 naming its status; --ignore-paused runs once it is resumed", async () => {
    const c = running();
    expectOk(fx.rt.bunc(["pause", c.id]));
    let resumed = false;
    try {
      expect255(exec(c, [], ["touch", "/tmp/ran"]), "paused");
      const p = fx.rt.spawn(["exec", "--ignore-paused", c.id, "sh", "-c", "touch /tmp/ran; echo thawed"]);
      try {
        await Bun.sleep(500);
        // frozen with the rest of the container until it is resumed
        expect(p.exitCode).toBeNull();
        expect(existsSync(c.tmp("ran"))).toBe(false);
        expectOk(fx.rt.bunc(["resume", c.id]));
        resumed = true;
        expect(await p.exited).toBe(0);
        expect(await new Response(p.stdout).text()).toBe("thawed\n");
        expect(existsSync(c.tmp("ran"))).toBe(true);
      } finally {
        p.kill("SIGKILL");
        await p.exited;
      }
    } finally {
      if (!resumed) fx.rt.bunc(["resume", c.id]);
    }
    finish(c);
  });
});

describe("-d and --pid-file", () => {
  test("-d returns while the process runs; --pid-file holds its host pid", () => {
    const c = running();
    const pidFile = join(c.b.dir, "exec.pid");
    const started = Date.now();
    const r = exec(c, ["-d", "--pid-file", pidFile], ["sh", "-c", "echo $$ > /tmp/inner; exec sleep 1000"], { timeoutMs: 10_000 });
    expectOk(r);
    expect(Date.now() - started).toBeLessThan(10_000);
    const pid = execPidFrom(pidFile, "sleep");
    expect(isLiveProcess(pid)).toBe(true);
    const inner = Number(waitFor(() => readOr(c.tmp("inner")).trim(), "the inner pid"));
    expect(procStatus(readOr(`/proc/${pid}/status`)).NSpid).toBe(`${pid}\t${inner}`);
    finish(c, [pid]);
  });

  test("--pid-file without -d: the host pid, written while the process runs", async () => {
    const c = running();
    const pidFile = join(c.b.dir, "exec.pid");
    const p = fx.rt.spawn(["exec", "--pid-file", pidFile, c.id, "sh", "-c", "echo $$ > /tmp/inner; while [ ! -e /tmp/go ]; do sleep 0.05; done"]);
    try {
      const inner = Number(waitFor(() => readOr(c.tmp("inner")).trim(), "the inner pid"));
      const pid = Number(waitFor(() => readOr(pidFile).trim(), "the pid file"));
      expect(procStatus(readOr(`/proc/${pid}/status`)).NSpid).toBe(`${pid}\t${inner}`);
      writeFileSync(c.tmp("go"), "");
      expect(await p.exited).toBe(0);
    } finally {
      p.kill("SIGKILL");
      await p.exited;
    }
    finish(c);
  });
});

describe("signals", () => {
  test("SIGTERM to a foreground bunc exec reaches the process, and bunc exits with its code", async () => {
    const c = running();
    const script = 'trap "exit 42" TERM; touch /tmp/trapped; while :; do sleep 0.1; done';
    const p = fx.rt.spawn(["exec", c.id, "sh", "-c", script]);
    try {
      waitFor(() => existsSync(c.tmp("trapped")), "the trap to be set");
      await Bun.sleep(100);
      expect(p.exitCode).toBeNull();
      p.kill("SIGTERM");
      expect(await p.exited).toBe(42);
      expect(await new Response(p.stderr).text()).toBe("");
    } finally {
      p.kill("SIGKILL");
      await p.exited;
    }
    finish(c);
  });

  test("SIGINT and SIGHUP are forwarded too", async () => {
    const c = running();
    for (const [sig, code] of [["SIGINT", 40], ["SIGHUP", 41]] as const) {
      const name = sig.slice(3);
      const script = `trap "exit ${code}" ${name}; touch /tmp/trapped-${name}; while :; do sleep 0.1; done`;
      const p = fx.rt.spawn(["exec", c.id, "sh", "-c", script]);
      try {
        waitFor(() => existsSync(c.tmp(`trapped-${name}`)), `the ${name} trap to be set`);
        await Bun.sleep(100);
        p.kill(sig);
        expect(`${sig} ${await p.exited}`).toBe(`${sig} ${code}`);
      } finally {
        p.kill("SIGKILL");
        await p.exited;
      }
    }
    finish(c);
  });
});

describe("fds", () => {
  test("only 0, 1 and 2 reach the process (ls's own dir fd is 3)", () => {
    const c = running();
    expect(out(c, [], ["ls", "/proc/self/fd"]).trimEnd().split("\n")).toEqual(["0", "1", "2", "3"]);
    const probe = 'i=3; while [ $i -lt 1024 ]; do [ -L /proc/self/fd/$i ] && echo $i; i=$((i+1)); done; true';
    expect(out(c, [], ["sh", "-c", probe])).toBe("");
    finish(c);
  });

  test("--preserve-fds 1 passes bunc's fd 3 on as fd 3", async () => {
    const c = running();
    const file = join(c.b.dir, "fd3.out");
    const fd = openSync(file, "w");
    let p;
    try {
      p = Bun.spawn([buncPath(), "--root", fx.rt.root, "exec", "--preserve-fds", "1", c.id, "sh", "-c", "echo through-fd3 >&3; ls /proc/self/fd"], {
        cwd: fx.rt.base,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        stdio: ["ignore", "pipe", "pipe", fd],
      });
    } finally {
      closeSync(fd);
    }
    const [code, stdout, stderr] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    // 0-2, the preserved 3, and ls's own dir fd
    expect(stdout.trimEnd().split("\n")).toEqual(["0", "1", "2", "3", "4"]);
    expect(readFileSync(file, "utf8")).toBe("through-fd3\n");
    finish(c);
  });
});

describe("seccomp", () => {
  test("the container's filter applies to the exec'd process", () => {
    const arch = ({ x64: "SCMP_ARCH_X86_64", arm64: "SCMP_ARCH_AARCH64" } as Record<string, string>)[process.arch]!;
    const c = running({
      mutate: (cfg) => {
        cfg.linux!.seccomp = {
          defaultAction: "SCMP_ACT_ALLOW",
          architectures: [arch],
          syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
        };
      },
    });
    const r = exec(c, [], ["mkdir", "/tmp/x"]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/Operation not permitted/);
    expect(existsSync(c.tmp("x"))).toBe(false);
    expect(execStatus(c).Seccomp).toBe("2");
    // other syscalls still work
    expectOk(exec(c, [], ["touch", "/tmp/y"]));
    expect(existsSync(c.tmp("y"))).toBe(true);
    finish(c);
  });

  test("without a profile there is no filter", () => {
    const c = running();
    expect(execStatus(c).Seccomp).toBe("0");
    expectOk(exec(c, [], ["mkdir", "/tmp/x"]));
    finish(c);
  });
});

describe("user namespace", () => {
  const userns: BundleOptions = {
    mutate: (cfg) => {
      cfg.linux!.namespaces!.push({ type: "user" });
      cfg.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      cfg.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    },
  };
  const words = (s: string) => s.trim().split(/\s+/);

  test("the process is root in the container's user namespace, with its mappings", () => {
    const c = running(userns);
    const [id, uidMap, gidMap, userNs] = out(c, [], ["sh", "-c", "id; cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/user"])
      .trimEnd()
      .split("\n");
    expect(id).toBe("uid=0(root) gid=0(root)");
    expect(words(uidMap!)).toEqual(["0", "100000", "65536"]);
    expect(words(gidMap!)).toEqual(["0", "100000", "65536"]);
    expect(userNs).toBe(nsLink(c.pid, "user"));
    expect(userNs).not.toBe(nsLink("self", "user"));
    finish(c);
  });

  test("-u 1000 runs as the mapped host uid", () => {
    const c = running(userns);
    const pidFile = join(c.b.dir, "exec.pid");
    expectOk(exec(c, ["-d", "--pid-file", pidFile, "-u", "1000:1000"], ["sleep", "1000"]));
    const pid = execPidFrom(pidFile, "sleep");
    const s = procStatus(readOr(`/proc/${pid}/status`));
    expect(words(s.Uid!)).toEqual(["101000", "101000", "101000", "101000"]);
    expect(words(s.Gid!)).toEqual(["101000", "101000", "101000", "101000"]);
    finish(c, [pid]);
  });
});

describe("refused as unsupported", () => {
  test.each([
    [["--tty", "--detach"], /--console-socket/],
    [["-t", "-d"], /--console-socket/],
    [["--apparmor", "unconfined"], /AppArmor/],
    [["--process-label", "system_u:system_r:container_t:s0"], /SELinux/],
  ] as [string[], RegExp][])("%p: 255 with a clear message, nothing run", (flags, message) => {
    const c = running();
    const r = exec(c, flags, ["touch", "/tmp/ran"]);
    expect255(r, message);
    expect(existsSync(c.tmp("ran"))).toBe(false);
    finish(c);
  });

  test("a terminal asked for in -p process.json, detached and without a console socket, is refused too", () => {
    const c = running();
    const r = exec(c, ["-d", "-p", "-"], [], { stdin: JSON.stringify({ terminal: true, user: { uid: 0, gid: 0 }, args: ["touch", "/tmp/ran"], cwd: "/" }) });
    expect255(r, /--console-socket/);
    expect(existsSync(c.tmp("ran"))).toBe(false);
    finish(c);
  });

  // runc runs the process in the named sub-cgroup (and fails when it is not there); a flag that
  // is accepted and then ignored would run it somewhere else without a word.
  test("--cgroup is either honoured or refused, never ignored", () => {
    const c = running();
    const r = exec(c, ["--cgroup", "no-such-sub"], ["sh", "-c", "touch /tmp/ran; cat /proc/self/cgroup"]);
    if (r.exitCode === 0) {
      expect(r.stdout).toContain("no-such-sub");
    } else {
      expect255(r, "--cgroup");
      expect(existsSync(c.tmp("ran"))).toBe(false);
    }
    finish(c);
  });

  test("--pidfd-socket is either honoured or refused, never ignored", () => {
    const c = running();
    const sock = join(c.b.dir, "no-such.sock");
    const r = exec(c, ["--pidfd-socket", sock], ["touch", "/tmp/ran"]);
    // nothing listens at the path: runc fails to connect before running anything
    expect255(r, /pidfd/);
    expect(existsSync(c.tmp("ran"))).toBe(false);
    finish(c);
  });
});
