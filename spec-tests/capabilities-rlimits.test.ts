// config.md process.capabilities and process.rlimits: unknown names are refused naming the
// field, the sets and limits the process gets are exactly the configured ones (read from
// /proc/self/status and /proc/self/limits inside), and an ambient capability that is not
// inheritable is left out with runc's warning, the container running without it.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { capMask, containerFixture, expectOk, expectRefused, procStatus } from "./support/assertions.ts";
import type { RuntimeConfig } from "./support/bundle.ts";
import { expectNothingLeft } from "./support/config-checks.ts";

const fx = containerFixture();

type Caps = NonNullable<RuntimeConfig["process"]["capabilities"]>;

/** A config with `caps` is refused naming each of `patterns`, and leaves nothing. */
function refused(mutate: (c: RuntimeConfig) => void, ...patterns: (string | RegExp)[]) {
  const b = fx.bundle({ args: ["true"], mutate });
  const id = fx.rt.id();
  expectRefused(fx.rt.bunc(["run", "--bundle", b.dir, id]), ...patterns);
  expectRefused(fx.rt.bunc(["state", id]), id);
  expectNothingLeft(fx.rt);
}

/** The Cap* lines of /proc/self/status inside a container with `caps` (and `user`). */
function capsInside(r: { stdout: string }) {
  const s = procStatus(r.stdout);
  return { inh: s.CapInh, prm: s.CapPrm, eff: s.CapEff, bnd: s.CapBnd, amb: s.CapAmb };
}

const statusWith = (caps: Caps, user?: { uid: number; gid: number }) =>
  fx.run({ args: ["cat", "/proc/self/status"], mutate: (c) => ((c.process.capabilities = caps), user && (c.process.user = user)) });

const WARNING = (name: string) => `level=warning msg="can't raise ambient capability ${name}: operation not permitted"`;

describe("capability names", () => {
  for (const set of ["bounding", "effective", "permitted", "inheritable", "ambient"] as const) {
    test(`an unknown name in ${set} is refused, naming the set and the name`, () => {
      refused((c) => {
        c.process.capabilities![set] = ["CAP_KILL", "CAP_NO_SUCH_THING"];
      }, `process.capabilities.${set}[1]`, "CAP_NO_SUCH_THING");
    });
  }

  test("a name without the CAP_ prefix is unknown", () => {
    refused((c) => {
      c.process.capabilities!.bounding = ["KILL"];
    }, "process.capabilities.bounding[0]", '"KILL"');
  });
});

describe("capability sets", () => {
  test("each set is exactly the configured one", () => {
    const caps = {
      bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_CHROOT"],
      permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
      effective: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
      inheritable: ["CAP_KILL"],
    };
    expect(capsInside({ stdout: expectOk(statusWith(caps)) })).toEqual({
      inh: capMask(["CAP_KILL"]),
      prm: capMask(["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"]),
      eff: capMask(["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"]),
      bnd: capMask(caps.bounding),
      amb: capMask([]),
    });
  });

  test("root's execve makes effective equal to permitted (the kernel's rule; runc shows the same)", () => {
    const caps = { bounding: ["CAP_CHOWN", "CAP_KILL"], permitted: ["CAP_CHOWN", "CAP_KILL"], effective: ["CAP_KILL"] };
    expect(capsInside({ stdout: expectOk(statusWith(caps)) })).toMatchObject({ prm: capMask(caps.permitted), eff: capMask(caps.permitted) });
  });

  test("a non-root user without ambient capabilities ends with empty sets after execve", () => {
    const caps = { bounding: ["CAP_KILL"], permitted: ["CAP_KILL"], effective: ["CAP_KILL"] };
    expect(capsInside({ stdout: expectOk(statusWith(caps, { uid: 1000, gid: 1000 })) })).toEqual({
      inh: capMask([]),
      prm: capMask([]),
      eff: capMask([]),
      bnd: capMask(["CAP_KILL"]),
      amb: capMask([]),
    });
  });

  test("ambient with inheritable and permitted is raised, and a non-root user keeps it across exec", () => {
    const net = ["CAP_NET_BIND_SERVICE"];
    const caps = { bounding: net, permitted: net, effective: net, inheritable: net, ambient: net };
    expect(capsInside({ stdout: expectOk(statusWith(caps, { uid: 1000, gid: 1000 })) })).toEqual({
      inh: capMask(net),
      prm: capMask(net),
      eff: capMask(net),
      bnd: capMask(net),
      amb: capMask(net),
    });
  });

  test("ambient without inheritable: runc's warning on stderr, and the process runs without it", () => {
    // runc's own test: CAP_KILL is raised, CAP_CHOWN is not inheritable
    const all = ["CAP_CHOWN", "CAP_KILL"];
    const r = statusWith({ bounding: all, permitted: all, effective: all, inheritable: ["CAP_KILL"], ambient: ["CAP_KILL", "CAP_CHOWN"] });
    expect(r.exitCode).toBe(0);
    expect(r.stderr.trimEnd().split("\n")).toEqual([expect.stringContaining(WARNING("CAP_CHOWN"))]);
    expect(capsInside(r)).toMatchObject({ inh: capMask(["CAP_KILL"]), amb: capMask(["CAP_KILL"]), eff: capMask(all) });
  });

  test("runc spec's default (ambient listed, inheritable not) runs, one warning per capability", () => {
    const three = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    const r = statusWith({ bounding: three, permitted: three, effective: three, ambient: three });
    expect(r.exitCode).toBe(0);
    expect(r.stderr.trimEnd().split("\n")).toEqual(three.map((n) => expect.stringContaining(WARNING(n))));
    expect(capsInside(r)).toEqual({ inh: capMask([]), prm: capMask(three), eff: capMask(three), bnd: capMask(three), amb: capMask([]) });
  });

  test("ambient not permitted is left out too", () => {
    const r = statusWith({ bounding: ["CAP_KILL"], permitted: [], effective: [], inheritable: ["CAP_KILL"], ambient: ["CAP_KILL"] });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(WARNING("CAP_KILL"));
    expect(capsInside(r).amb).toBe(capMask([]));
  });

  test("exec: a process with ambient but not inheritable gets the same warning and runs without it", () => {
    const b = fx.bundle({ args: ["sleep", "1000"] });
    const id = fx.rt.id();
    expectOk(fx.rt.bunc(["run", "-d", "--bundle", b.dir, id]));
    const proc = { ...b.config.process, args: ["cat", "/proc/self/status"], capabilities: { ...b.config.process.capabilities, ambient: ["CAP_KILL"] } };
    const r = fx.rt.bunc(["exec", "-p", "-", id], { stdin: JSON.stringify(proc) });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(WARNING("CAP_KILL"));
    expect(capsInside(r).amb).toBe(capMask([]));
  });

  test("with --log the warning goes to the log file", () => {
    const b = fx.bundle({ args: ["true"], mutate: (c) => void (c.process.capabilities!.ambient = ["CAP_KILL"]) });
    const logFile = join(fx.rt.base, "bunc.log");
    const r = fx.rt.bunc(["--log", logFile, "run", "--bundle", b.dir, fx.rt.id()]);
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(existsSync(logFile)).toBe(true);
    expect(readFileSync(logFile, "utf8")).toContain(WARNING("CAP_KILL"));
  });
});

describe("rlimits", () => {
  /** The "Max …" rows of /proc/self/limits: name → [soft, hard]. */
  function limitsInside(rlimits: { type: string; soft: number; hard: number }[]): Record<string, [string, string]> {
    const out = expectOk(fx.run({ args: ["cat", "/proc/self/limits"], mutate: (c) => void (c.process.rlimits = rlimits) }));
    const rows: Record<string, [string, string]> = {};
    for (const line of out.split("\n").slice(1)) {
      const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
      if (m) rows[m[1]!] = [m[2]!, m[3]!];
    }
    return rows;
  }

  // Hard limits stay at or below this machine's own: raising one needs CAP_SYS_RESOURCE.
  test("soft and hard values are exactly the configured ones", () => {
    const rows = limitsInside([
      { type: "RLIMIT_NOFILE", soft: 1000, hard: 2000 },
      { type: "RLIMIT_NPROC", soft: 321, hard: 654 },
      { type: "RLIMIT_CORE", soft: 0, hard: 4096 },
      { type: "RLIMIT_STACK", soft: 4194304, hard: 8388608 },
      { type: "RLIMIT_MSGQUEUE", soft: 409600, hard: 819200 },
      { type: "RLIMIT_MEMLOCK", soft: 65536, hard: 131072 },
    ]);
    expect(rows["Max open files"]).toEqual(["1000", "2000"]);
    expect(rows["Max processes"]).toEqual(["321", "654"]);
    expect(rows["Max core file size"]).toEqual(["0", "4096"]);
    expect(rows["Max stack size"]).toEqual(["4194304", "8388608"]);
    expect(rows["Max msgqueue size"]).toEqual(["409600", "819200"]);
    expect(rows["Max locked memory"]).toEqual(["65536", "131072"]);
  });

  test("2^64-1 is unlimited", () => {
    // JSON numbers are doubles: 18446744073709551615 reads as 2^64, which means unlimited too
    const rows = limitsInside([{ type: "RLIMIT_CORE", soft: 1024, hard: 18446744073709551615 }]);
    expect(rows["Max core file size"]).toEqual(["1024", "unlimited"]);
  });

  test("an unknown type is refused, naming the field and the type", () => {
    refused((c) => void (c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1, hard: 1 }, { type: "RLIMIT_BOGUS", soft: 1, hard: 1 }]), "process.rlimits[1].type", "RLIMIT_BOGUS");
  });

  test("a type without the RLIMIT_ prefix is unknown", () => {
    refused((c) => void (c.process.rlimits = [{ type: "NOFILE", soft: 1, hard: 1 }]), "process.rlimits[0].type", '"NOFILE"');
  });

  test("soft above hard is refused", () => {
    refused((c) => void (c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 2048, hard: 1024 }]), "process.rlimits[0].soft", "2048", "1024");
  });

  test("a type given twice is refused", () => {
    const twice = [
      { type: "RLIMIT_NOFILE", soft: 1, hard: 1 },
      { type: "RLIMIT_NOFILE", soft: 2, hard: 2 },
    ];
    refused((c) => void (c.process.rlimits = twice), "process.rlimits[1].type", "twice");
  });
});
