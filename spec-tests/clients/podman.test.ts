// podman 4.3 with conmon drives bunc as it drives runc: every scenario below runs with
// dist/bunc, with bunc under a name podman knows (`runc`: podman decides by the runtime's
// base name whether to pass `--log-format=json --log FILE`), and with runc itself, so a
// failure can be told apart from the machine's limits.
//
// What podman calls (captured with an argv-logging wrapper around runc; U = the container's
// userdata dir; the json log flags only for a known name; never a --root):
//   [--log-format=json --log U/oci-log] create --bundle U --pid-file U/pidfile [--console-socket S] ID
//   start ID · kill ID 15 / kill ID 9 (numbers; stop sends 15 then 9, kill 9) · delete --force ID
//   (also after a failed create, for an id that may not exist) · pause ID · resume ID
//   update --resources=FILE ID, FILE = {"memory":{"limit":100663296,"swap":201326592}} for --memory 96m
//   [--log…] exec --pid-file U/ID/exec_pid --process U/ID/exec-process-N --detach [--tty --console-socket S] ID
//   --version (podman info; no XDG_RUNTIME_DIR then, an empty one under conmon)
// stats, top, wait, inspect, logs and pods need no runtime call: podman reads cgroups, /proc
// and conmon's files itself. `state`, `ps`, `events` and `features` are not called.
// conmon's --timeout kills the container's process group: each container process leads its
// own session, as runc's. tmpfs mounts come with `tmpcopyup`, a read-only one gets binds inside it (/etc/hosts);
// --privileged passes each host device's whole st_mode.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../support/bunc.ts";
import { TEMP_PREFIX } from "../support/bundle.ts";
import { cgroupFileOf, makePodman, type Podman, podmanPath, type PodmanResult, runtimeAlias } from "../support/podman.ts";

const BUNC = join(REPO_ROOT, "dist/bunc");
const RUNC = Bun.which("runc");

interface RuntimeCase {
  name: string;
  /** Resolved once the alias exists. */
  path: () => string;
  /** Only the error and lifecycle basics: the rest is bunc's own run already. */
  short?: boolean;
}

let alias: ReturnType<typeof runtimeAlias> | undefined;
const cases: RuntimeCase[] = [
  { name: "bunc", path: () => BUNC },
  { name: "bunc named runc", path: () => (alias ??= runtimeAlias(BUNC, "runc")).path, short: true },
  ...(RUNC ? [{ name: "runc", path: () => RUNC }] : []),
];
afterAll(() => alias?.cleanup());

const installed = podmanPath() !== undefined;

/** Exit code 0 (else the failure shows the command's tail, stdout and stderr); returns stdout. */
function ok(r: PodmanResult): string {
  const failed = r.exitCode !== 0;
  expect({ exitCode: r.exitCode, argv: r.argv.slice(-4), stdout: failed ? r.stdout : "", stderr: failed ? r.stderr : "" }).toEqual({
    exitCode: 0,
    argv: r.argv.slice(-4),
    stdout: "",
    stderr: "",
  });
  return r.stdout;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** Runs podman with a pty as its stdio (util-linux script), for -t. */
function withTty(pm: Podman, args: string[]): { exitCode: number; output: string } {
  const command = pm.argv(args).map(shellQuote).join(" ");
  const r = Bun.spawnSync(["script", "-qfec", command, "/dev/null"], { env: pm.env, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  return { exitCode: r.exitCode ?? -1, output: r.stdout.toString().replace(/\r/g, "") };
}

const inspect = (pm: Podman, name: string, format: string) => ok(pm.podman(["inspect", "--format", format, name])).trim();

function ancestors(pid: number): number[] {
  const out: number[] = [];
  for (let p = pid; p > 1; ) {
    const stat = readFileSync(`/proc/${p}/stat`, "utf8");
    p = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    out.push(p);
  }
  return out;
}

for (const rc of cases) {
  describe.skipIf(!installed)(`podman --runtime ${rc.name}`, () => {
    let pm: Podman;
    const N = ["--network", "none"];
    const run = (args: string[]) => pm.podman(["run", "--rm", ...N, ...args]);
    const testFull = (name: string, fn: () => void) => {
      if (!rc.short) test(name, fn);
    };

    beforeAll(() => {
      pm = makePodman(rc.path());
    });
    afterAll(() => pm?.cleanup());

    test("run: output, exit code passthrough, --rm leaves nothing, and podman used this runtime", () => {
      expect(ok(run([pm.image, "echo", "hi"]))).toBe("hi\n");
      expect(run([pm.image, "sh", "-c", "exit 3"]).exitCode).toBe(3);
      ok(pm.podman(["create", ...N, "--name", "which", pm.image, "true"]));
      expect(inspect(pm, "which", "{{.OCIRuntime}}")).toBe(rc.path());
      ok(pm.podman(["rm", "which"]));
      expect(ok(pm.podman(["ps", "--all", "--quiet"]))).toBe("");
    });

    test("a command that is not there exits 127, one that is not executable 126, each with the reason", () => {
      const missing = run([pm.image, "nonexistent"]);
      expect(missing.exitCode).toBe(127);
      expect(missing.stderr).toContain("nonexistent");
      const notExec = run([pm.image, "/etc/passwd"]);
      expect(notExec.exitCode).toBe(126);
      expect(notExec.stderr).toContain("permission denied");
      // the forced delete after the failed create finds nothing to delete, quietly
      expect(missing.stderr).not.toContain("Removing container");
      expect(ok(pm.podman(["ps", "--all", "--quiet"]))).toBe("");
    });

    test("run -d, exec (plain, exit code, -t), the process a descendant of conmon", () => {
      ok(pm.podman(["run", "-d", ...N, "--name", "d1", pm.image, "sleep", "1000"]));
      try {
        const pid = Number(inspect(pm, "d1", "{{.State.Pid}}"));
        const conmon = Number(inspect(pm, "d1", "{{.State.ConmonPid}}"));
        expect(ancestors(pid)).toContain(conmon);
        expect(ok(pm.podman(["exec", "d1", "echo", "exec-ok"]))).toBe("exec-ok\n");
        expect(pm.podman(["exec", "d1", "sh", "-c", "exit 5"]).exitCode).toBe(5);
        const t = withTty(pm, ["exec", "-t", "d1", "tty"]);
        expect(t.exitCode).toBe(0);
        expect(t.output).toMatch(/^\/dev\/pts\/\d+\n$/);
      } finally {
        pm.podman(["rm", "-f", "-t", "0", "d1"]);
      }
    });

    test("run -t gets a terminal", () => {
      const t = withTty(pm, ["run", "--rm", "-t", ...N, pm.image, "tty"]);
      expect(t.exitCode).toBe(0);
      expect(t.output).toMatch(/^\/dev\/pts\/0\n$/);
    });

    testFull("pause and unpause, update --memory, stats, top", () => {
      ok(pm.podman(["run", "-d", ...N, "--name", "p1", pm.image, "sleep", "1000"]));
      try {
        ok(pm.podman(["pause", "p1"]));
        expect(inspect(pm, "p1", "{{.State.Status}}")).toBe("paused");
        ok(pm.podman(["unpause", "p1"]));
        expect(inspect(pm, "p1", "{{.State.Status}}")).toBe("running");
        ok(pm.podman(["update", "--memory", "96m", "p1"]));
        const pid = Number(inspect(pm, "p1", "{{.State.Pid}}"));
        expect(cgroupFileOf(pid, "memory", "memory.limit_in_bytes", "memory.max")).toBe(String(96 * 1024 * 1024));
        const [pids, mem] = ok(pm.podman(["stats", "--no-stream", "--format", "{{.PIDs}} {{.MemUsage}}", "p1"])).trim().split(" ");
        expect(Number(pids)).toBeGreaterThanOrEqual(1);
        expect(mem).not.toBe("0B");
        expect(ok(pm.podman(["top", "p1"]))).toContain("sleep 1000");
      } finally {
        pm.podman(["rm", "-f", "-t", "0", "p1"]);
      }
    });

    test("kill, restart, stop", () => {
      ok(pm.podman(["run", "-d", ...N, "--name", "k1", pm.image, "sleep", "1000"]));
      try {
        const first = inspect(pm, "k1", "{{.State.Pid}}");
        ok(pm.podman(["kill", "k1"]));
        expect(ok(pm.podman(["wait", "k1"])).trim()).toBe("137");
        ok(pm.podman(["restart", "k1"]));
        expect(inspect(pm, "k1", "{{.State.Status}}")).toBe("running");
        expect(inspect(pm, "k1", "{{.State.Pid}}")).not.toBe(first);
        // sleep as PID 1 ignores SIGTERM: stop falls back to SIGKILL
        ok(pm.podman(["stop", "-t", "1", "k1"]));
        expect(inspect(pm, "k1", "{{.State.Status}}")).toBe("exited");
      } finally {
        pm.podman(["rm", "-f", "-t", "0", "k1"]);
      }
    });

    testFull("--timeout: conmon kills the container's process group when the time is up", () => {
      const r = pm.podman(["run", "--name", "t1", ...N, "--timeout", "1", pm.image, "sleep", "1000"]);
      try {
        expect(r.exitCode).toBe(255);
        expect(inspect(pm, "t1", "{{.State.Status}}")).toBe("exited");
      } finally {
        pm.podman(["rm", "-f", "-t", "0", "t1"]);
      }
    });

    testFull("--init runs podman's init as PID 1", () => {
      const out = ok(run(["--init", pm.image, "cat", "/proc/1/cmdline"]));
      expect(out.split("\0")[0]).toBe("/run/podman-init");
    });

    testFull("--privileged: all capabilities and the host's devices", () => {
      const out = ok(run(["--privileged", pm.image, "sh", "-c", "grep CapEff /proc/self/status; stat -c '%F %t,%T' /dev/kmsg"]));
      const hostCaps = readFileSync("/proc/self/status", "utf8").match(/^CapEff:\s*(\w+)$/m)![1];
      expect(out).toBe(`CapEff:\t${hostCaps}\ncharacter special file 1,b\n`);
    });

    testFull("--uidmap 0:100000:65536: a user namespace with that map", () => {
      const out = ok(run(["--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536", pm.image, "cat", "/proc/self/uid_map", "/proc/self/gid_map"]));
      expect(out.split("\n").filter(Boolean).map((l) => l.trim().split(/\s+/))).toEqual([
        ["0", "100000", "65536"],
        ["0", "100000", "65536"],
      ]);
    });

    testFull("--cgroupns private shows / as the cgroup; host shows podman's path", () => {
      const priv = ok(run(["--cgroupns", "private", pm.image, "cat", "/proc/self/cgroup"]));
      for (const line of priv.split("\n").filter(Boolean)) expect(line).toMatch(/:\/$/);
      const host = ok(run(["--cgroupns", "host", pm.image, "cat", "/proc/self/cgroup"]));
      expect(host).toContain("libpod");
    });

    testFull("--read-only: / refuses writes, /tmp /run /var/tmp are tmpfs", () => {
      const r = run(["--read-only", pm.image, "sh", "-c", "touch /a; touch /tmp/b /run/c /var/tmp/d && echo writable"]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe("writable\n");
      expect(r.stderr).toContain("Read-only file system");
    });

    testFull("--tmpfs: a tmpfs there, starting with the image's content (tmpcopyup)", () => {
      // podman orders these mounts as a map gives them
      const out = ok(run(["--tmpfs", "/x", "--tmpfs", "/etc", pm.image, "sh", "-c", "grep -E ' /(x|etc) ' /proc/mounts | cut -d' ' -f2,3 | sort; head -1 /etc/passwd; stat -c %a /x"]));
      expect(out).toBe("/etc tmpfs\n/x tmpfs\nroot:x:0:0:root:/root:/bin/sh\n1777\n");
      // read-only, yet podman's /etc/hosts and /etc/hostname are bound into it
      const ro = run(["--tmpfs", "/etc:ro", pm.image, "sh", "-c", "grep -c . /etc/hosts >/dev/null && echo hosts; touch /etc/new"]);
      expect({ stdout: ro.stdout, stderr: ro.stderr }).toEqual({ stdout: "hosts\n", stderr: expect.stringContaining("Read-only file system") });
    });

    testFull("-v hostdir:/y: the host's files, and writes come back", () => {
      const host = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
      try {
        writeFileSync(join(host, "in"), "from host\n");
        expect(ok(run(["-v", `${host}:/y`, pm.image, "sh", "-c", "cat /y/in; echo back > /y/out"]))).toBe("from host\n");
        expect(readFileSync(join(host, "out"), "utf8")).toBe("back\n");
      } finally {
        rmSync(host, { recursive: true, force: true });
      }
    });

    testFull("pod: containers join the infra container's namespaces by path", () => {
      ok(pm.podman(["pod", "create", "--infra-image", pm.infraImage, "--name", "pod1"]));
      try {
        ok(pm.podman(["pod", "start", "pod1"]));
        const infra = inspect(pm, "pod1", "{{.InfraContainerID}}").trim();
        const infraPid = Number(inspect(pm, infra, "{{.State.Pid}}"));
        const out = ok(pm.podman(["run", "--rm", "--pod", "pod1", pm.image, "sh", "-c", "hostname; for n in net uts ipc; do readlink /proc/self/ns/$n; done"]));
        const host = ["net", "uts", "ipc"].map((ns) => readlinkSync(`/proc/${infraPid}/ns/${ns}`));
        expect(out).toBe(["pod1", ...host, ""].join("\n"));
      } finally {
        pm.podman(["pod", "rm", "-f", "-t", "0", "pod1"]);
      }
    });

    test("podman info parses the runtime's --version", () => {
      const out = ok(pm.podman(["info", "--format", "{{.Host.OCIRuntime.Path}}|{{.Host.OCIRuntime.Version}}"]));
      const [path, version] = out.split("|");
      expect(path).toBe(rc.path());
      expect(version).toMatch(rc.name === "runc" ? /^runc version / : /^bunc version \d+\.\d+\.\d+\ncommit: /);
    });
  });
}
