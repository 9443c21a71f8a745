// config.md, process: what the container's process gets from the config (args, env, cwd,
// user, umask, rlimits, noNewPrivileges, capabilities, oomScoreAdj) and what it must not get
// from the runtime (open fds, ignored or blocked signals).
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { capMask, containerFixture, expectOk, procStatus } from "./support/assertions.ts";
import type { BundleOptions } from "./support/bundle.ts";

const fx = containerFixture();

/** Runs the bundle and returns stdout, failing on a non-zero exit or any stderr. */
const output = (opts: BundleOptions) => expectOk(fx.run(opts));
/** /proc/self/status of a process run straight from the config (cat is PID 1). */
const status = (opts: BundleOptions = {}) => procStatus(output({ ...opts, args: ["cat", "/proc/self/status"] }));
const withProcess = (fields: Record<string, unknown>): BundleOptions => ({ config: { process: fields } });

describe("args and env", () => {
  test("args are passed one by one, spaces kept", () => {
    expect(output({ args: ["printf", "[%s]", "one two", "three", ""] })).toBe("[one two][three][]");
  });

  test("a program is found on the PATH of process.env", () => {
    const b = { files: { "opt/tools/hello": { content: "#!/bin/sh\necho hello from opt\n", mode: 0o755 } } };
    const env = ["PATH=/opt/tools:/bin"];
    expect(output({ ...b, args: ["hello"], config: { process: { env } } })).toBe("hello from opt\n");
  });

  test("the environment is the configured one, with nothing of the runtime's", () => {
    const env = ["PATH=/bin", "GREETING=hello world", "EMPTY=", "TERM=xterm"];
    const lines = output({ args: ["env"], config: { process: { env } } }).trimEnd().split("\n");
    expect(lines).toEqual(expect.arrayContaining(env));
    // runc adds HOME when the config has none; nothing else may appear
    expect(lines.filter((l) => !env.includes(l) && !l.startsWith("HOME="))).toEqual([]);
  });
});

describe("cwd", () => {
  test("the process starts in cwd", () => {
    expect(output({ args: ["pwd"], config: { process: { cwd: "/etc" } } })).toBe("/etc\n");
  });

  test("a missing cwd is created, also under a read-only root", () => {
    const opts = { args: ["pwd"], config: { process: { cwd: "/work/sub" }, root: { readonly: true } } };
    expect(output(opts)).toBe("/work/sub\n");
  });

  test("a missing cwd is created in the rootfs when the root is writable", () => {
    const b = fx.bundle({ args: ["pwd"], config: { process: { cwd: "/made/here" }, root: { readonly: false } } });
    expect(expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()]))).toBe("/made/here\n");
    expect(existsSync(join(b.rootfs, "made/here"))).toBe(true);
  });
});

describe("user", () => {
  const user = { uid: 1000, gid: 1000, additionalGids: [100, 5] };

  test("uid, gid and additionalGids as `id` shows them", () => {
    const out = output({ args: ["sh", "-c", "id -u; id -g; id -G"], ...withProcess({ user }) });
    const [uid, gid, groups] = out.trimEnd().split("\n");
    expect(uid).toBe("1000");
    expect(gid).toBe("1000");
    expect(groups!.split(" ").sort()).toEqual(["100", "1000", "5"]);
  });

  test("uid, gid and additionalGids in /proc/self/status", () => {
    const s = status(withProcess({ user }));
    expect(s.Uid!.split(/\s+/)).toEqual(["1000", "1000", "1000", "1000"]);
    expect(s.Gid!.split(/\s+/)).toEqual(["1000", "1000", "1000", "1000"]);
    expect(s.Groups!.split(/\s+/).sort()).toEqual(["100", "5"]);
  });

  test("root without additionalGids has no supplementary groups", () => {
    expect(status().Groups).toBe("");
  });

  test("umask is applied", () => {
    expect(output({ args: ["sh", "-c", "umask"], ...withProcess({ user: { uid: 0, gid: 0, umask: 0o027 } }) })).toBe("0027\n");
  });

  test("umask is 0022 when not configured", () => {
    expect(output({ args: ["sh", "-c", "umask"] })).toBe("0022\n");
  });
});

describe("rlimits", () => {
  const limits = (text: string) =>
    Object.fromEntries(
      text
        .split("\n")
        .slice(1)
        .filter(Boolean)
        .map((l) => {
          const cols = l.split(/\s{2,}/);
          return [cols[0]!.trim(), [cols[1]!.trim(), cols[2]!.trim()]];
        }),
    );

  test("soft and hard limits are set, as /proc/self/limits and ulimit show", () => {
    const rlimits = [
      { type: "RLIMIT_NOFILE", soft: 512, hard: 768 },
      { type: "RLIMIT_NPROC", soft: 300, hard: 400 },
      { type: "RLIMIT_CORE", soft: 0, hard: 0 },
    ];
    const l = limits(output({ args: ["cat", "/proc/self/limits"], ...withProcess({ rlimits }) }));
    expect(l["Max open files"]).toEqual(["512", "768"]);
    expect(l["Max processes"]).toEqual(["300", "400"]);
    expect(l["Max core file size"]).toEqual(["0", "0"]);
    expect(output({ args: ["sh", "-c", "ulimit -n; ulimit -Hn"], ...withProcess({ rlimits }) })).toBe("512\n768\n");
  });
});

describe("noNewPrivileges", () => {
  test("true sets NoNewPrivs", () => {
    expect(status(withProcess({ noNewPrivileges: true })).NoNewPrivs).toBe("1");
  });

  test("false leaves it clear", () => {
    expect(status(withProcess({ noNewPrivileges: false })).NoNewPrivs).toBe("0");
  });
});

describe("capabilities", () => {
  test("root gets the configured bounding, effective and permitted sets; inheritable and ambient are empty", () => {
    const caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"];
    const s = status(withProcess({ capabilities: { bounding: caps, effective: caps, permitted: caps } }));
    expect(s.CapBnd).toBe(capMask(caps));
    expect(s.CapEff).toBe(capMask(caps));
    expect(s.CapPrm).toBe(capMask(caps));
    expect(s.CapInh).toBe(capMask([]));
    expect(s.CapAmb).toBe(capMask([]));
  });

  // For a non-root process execve keeps the ambient set as permitted and effective: with
  // effective = permitted = ambient every set comes through as configured.
  test("a non-root user gets all five sets as configured", () => {
    const capabilities = {
      bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETUID"],
      inheritable: ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
      permitted: ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
      effective: ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
      ambient: ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
    };
    const s = status(withProcess({ user: { uid: 1000, gid: 1000 }, capabilities }));
    expect(s.CapBnd).toBe(capMask(capabilities.bounding));
    expect(s.CapInh).toBe(capMask(capabilities.inheritable));
    expect(s.CapPrm).toBe(capMask(capabilities.permitted));
    expect(s.CapEff).toBe(capMask(capabilities.effective));
    expect(s.CapAmb).toBe(capMask(capabilities.ambient));
  });

  test("no capabilities object: every set is empty", () => {
    const s = status({ mutate: (c) => delete c.process.capabilities });
    for (const set of ["CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"]) expect(`${set} ${s[set]}`).toBe(`${set} ${capMask([])}`);
  });

  test("a dropped capability is enforced: chown fails without CAP_CHOWN", () => {
    const r = fx.run({ args: ["chown", "1000", "/tmp"], config: { root: { readonly: false } } });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/Operation not permitted/);
  });
});

describe("oomScoreAdj", () => {
  test("is written to /proc/self/oom_score_adj", () => {
    expect(output({ args: ["cat", "/proc/self/oom_score_adj"], ...withProcess({ oomScoreAdj: 500 }) })).toBe("500\n");
  });

  // Lowering it needs CAP_SYS_RESOURCE, which some hosts (VMs, nested containers) do not give.
  const CAP_SYS_RESOURCE = 1n << 24n;
  const hostHasSysResource = (BigInt(`0x${procStatus(readFileSync("/proc/self/status", "utf8")).CapEff}`) & CAP_SYS_RESOURCE) !== 0n;

  test.if(hostHasSysResource)("a negative value is applied", () => {
    expect(output({ args: ["cat", "/proc/self/oom_score_adj"], ...withProcess({ oomScoreAdj: -500 }) })).toBe("-500\n");
  });

  test.if(!hostHasSysResource)("a negative value the host does not allow is refused, naming the field", () => {
    const r = fx.run({ args: ["true"], ...withProcess({ oomScoreAdj: -500 }) });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("oomScoreAdj");
    fx.rt.assertNoLeftovers();
  });
});

describe("what the runtime must not pass on", () => {
  test("the caller's session and process group: the process leads its own, as runc's", () => {
    // fields 1, 5 and 6 of /proc/self/stat: pid, process group, session (cut is PID 1)
    expect(output({ args: ["cut", "-d", " ", "-f", "1,5,6", "/proc/self/stat"] })).toBe("1 1 1\n");
  });

  test("no fd beyond 0, 1 and 2: ls of /proc/self/fd", () => {
    // ls is PID 1; its own directory fd takes the lowest free number, so with nothing leaked
    // it is 3 and nothing else is there.
    expect(output({ args: ["ls", "/proc/self/fd"] }).trimEnd().split("\n")).toEqual(["0", "1", "2", "3"]);
  });

  test("no fd beyond 0, 1 and 2: probed one by one", () => {
    // `[` is a shell builtin: each probe looks at the shell's own fds and opens none.
    const script = 'i=3; while [ $i -lt 1024 ]; do [ -L /proc/self/fd/$i ] && echo $i; i=$((i+1)); done; true';
    expect(output({ args: ["sh", "-c", script] })).toBe("");
  });

  test("no signal is ignored or blocked", () => {
    const s = status();
    expect(s.SigIgn).toBe("0000000000000000");
    expect(s.SigBlk).toBe("0000000000000000");
    expect(s.SigPnd).toBe("0000000000000000");
  });
});
