// Bundles bunc must refuse: each `create` (and `run`) fails with a non-zero exit and a
// message naming the field or file at fault, and leaves nothing behind: no state dir, no
// mount, no process.
import { describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { containerFixture, expectRefused, processesUsing } from "./support/assertions.ts";
import type { Bundle, BundleOptions } from "./support/bundle.ts";

const fx = containerFixture();

interface Case {
  name: string;
  bundle: BundleOptions;
  /** Changes the bundle on disk after it is written. */
  after?: (b: Bundle) => void;
  /** What stderr must name. */
  names: (b: Bundle) => (string | RegExp)[];
}

const CASES: Case[] = [
  {
    name: "malformed JSON in config.json",
    bundle: {},
    after: (b) => writeFileSync(b.configPath, '{"ociVersion": "1.2.0", "process": {'),
    names: () => ["config.json"],
  },
  {
    name: "config.json that is not an object",
    bundle: {},
    after: (b) => writeFileSync(b.configPath, "[]"),
    names: () => ["config.json"],
  },
  {
    name: "missing config.json",
    bundle: {},
    after: (b) => rmSync(b.configPath),
    names: (b) => [b.configPath],
  },
  {
    name: "missing process.args",
    bundle: { mutate: (c) => delete (c.process as { args?: string[] }).args },
    names: () => ["process.args"],
  },
  {
    name: "empty process.args",
    bundle: { args: [] },
    names: () => ["process.args"],
  },
  {
    name: "relative mount destination",
    bundle: { mutate: (c) => c.mounts!.push({ destination: "relative/dir", type: "tmpfs", source: "tmpfs" }) },
    names: () => ["mounts[6].destination", "relative/dir"],
  },
  {
    name: "unknown capability",
    bundle: { mutate: (c) => c.process.capabilities!.bounding!.push("CAP_NO_SUCH_THING") },
    names: () => ["process.capabilities.bounding[3]", "CAP_NO_SUCH_THING"],
  },
  {
    name: "unknown rlimit",
    bundle: { mutate: (c) => c.process.rlimits!.push({ type: "RLIMIT_NO_SUCH_THING", soft: 1, hard: 1 }) },
    names: () => ["process.rlimits[1]", "RLIMIT_NO_SUCH_THING"],
  },
  {
    name: 'ociVersion "invalid"',
    bundle: { config: { ociVersion: "invalid" } },
    names: () => ["ociVersion", "invalid"],
  },
  {
    name: "ociVersion of another major version",
    bundle: { config: { ociVersion: "2.0.0" } },
    names: () => ["ociVersion", "2.0.0"],
  },
  {
    name: "missing rootfs dir",
    bundle: {},
    after: (b) => rmSync(b.rootfs, { recursive: true }),
    names: (b) => [b.rootfs],
  },
  {
    name: "a namespace path that does not exist",
    bundle: { mutate: (c) => (c.linux!.namespaces = c.linux!.namespaces!.map((n) => (n.type === "ipc" ? { type: "ipc", path: "/proc/no-such/ns/ipc" } : n))) },
    names: () => ["linux.namespaces", "/proc/no-such/ns/ipc"],
  },
  {
    name: "a namespace path of another type",
    // this process's own uts namespace, given as its network namespace
    bundle: { mutate: (c) => (c.linux!.namespaces = c.linux!.namespaces!.map((n) => (n.type === "network" ? { type: "network", path: `/proc/${process.pid}/ns/uts` } : n))) },
    names: () => ["linux.namespaces", `/proc/${process.pid}/ns/uts`],
  },
  {
    name: "a namespace given twice",
    bundle: { mutate: (c) => c.linux!.namespaces!.push({ type: "pid" }) },
    names: () => ["linux.namespaces[6]", "pid"],
  },
  {
    name: "an unknown namespace type",
    bundle: { mutate: (c) => c.linux!.namespaces!.push({ type: "no-such-ns" }) },
    names: () => ["linux.namespaces[6].type"],
  },
  {
    name: "uidMappings without a user namespace",
    bundle: { config: { linux: { uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] } } },
    names: () => ["linux.uidMappings"],
  },
  {
    name: "a relative process.cwd",
    bundle: { config: { process: { cwd: "relative" } } },
    names: () => ["process.cwd"],
  },
  {
    name: "an env entry without =",
    bundle: { config: { process: { env: ["PATH=/bin", "NOEQUALS"] } } },
    names: () => ["process.env[1]", "NOEQUALS"],
  },
  {
    name: "a wrong type for a field",
    bundle: { mutate: (c) => ((c.process.user as unknown as { uid: string }).uid = "root") },
    names: () => ["process.user.uid"],
  },
  {
    name: "unsupported linux.intelRdt",
    bundle: { config: { linux: { intelRdt: { closID: "x" } } } },
    names: () => ["linux.intelRdt"],
  },
  {
    name: "a mount source that does not exist",
    bundle: { mutate: (c) => c.mounts!.push({ destination: "/data", type: "bind", source: "/no/such/source", options: ["rbind"] }) },
    names: () => ["/no/such/source"],
  },
];

/** Nothing of the refused container survives: no state, no mount, no process. */
function expectNothingLeft(b: Bundle, id: string) {
  expectRefused(fx.rt.bunc(["state", id]), id);
  fx.rt.assertNoLeftovers();
  // A stage would hold the state dir's fifo, the bundle as root or cwd, or busybox as exe.
  // One killed by SIGKILL may take a moment to go: poll, then show what is still there.
  const deadline = Date.now() + 5_000;
  let stray = processesUsing([fx.rt.base, b.dir]);
  while (stray.length > 0 && Date.now() < deadline) {
    Bun.sleepSync(20);
    stray = processesUsing([fx.rt.base, b.dir]);
  }
  expect(stray).toEqual([]);
}

describe.each(["create", "run"])("%s refuses", (command) => {
  for (const c of CASES) {
    test(c.name, () => {
      const b = fx.bundle({ args: ["sh", "-c", "echo must not run"], ...c.bundle });
      c.after?.(b);
      const id = fx.rt.id();
      const r = fx.rt.bunc([command, "--bundle", b.dir, id]);
      expectRefused(r, ...c.names(b));
      expect(r.stdout).not.toContain("must not run");
      expectNothingLeft(b, id);
    });
  }
});

describe("other refusals", () => {
  // A foreground run attaches a terminal itself (terminal-proxy.test.ts); these cannot.
  test.each([[["create"]], [["run", "--detach"]]] as [string[]][])("a terminal without a console socket: %p", (command) => {
    const b = fx.bundle({ args: ["sh", "-c", "echo must not run"], config: { process: { terminal: true } } });
    const id = fx.rt.id();
    const r = fx.rt.bunc([...command, "--bundle", b.dir, id]);
    expectRefused(r, "process.terminal", "--console-socket");
    expect(r.stdout).not.toContain("must not run");
    expectNothingLeft(b, id);
  });

  test("a missing bundle dir", () => {
    const b = fx.bundle();
    const missing = join(b.dir, "no-such-bundle");
    const id = fx.rt.id();
    expectRefused(fx.rt.bunc(["create", "--bundle", missing, id]), missing);
    expectNothingLeft(b, id);
  });

  test("a pid file in a missing dir", () => {
    const b = fx.bundle();
    const id = fx.rt.id();
    const pidFile = join(b.dir, "no-such-dir", "pid");
    expectRefused(fx.rt.bunc(["create", "--pid-file", pidFile, "--bundle", b.dir, id]), join(b.dir, "no-such-dir"));
    expectNothingLeft(b, id);
  });

  test("an invalid container id", () => {
    const b = fx.bundle();
    for (const id of ["../escape", "a/b", ".."]) {
      expectRefused(fx.rt.bunc(["create", "--bundle", b.dir, id]), id);
    }
    fx.rt.assertNoLeftovers();
  });

  test("a config that fails late (in the container) leaves no process behind", () => {
    // The mount fails inside the container's mount namespace, after the stages started.
    const b = fx.bundle({ mutate: (c) => c.mounts!.push({ destination: "/proc/self/x", type: "tmpfs", source: "tmpfs" }) });
    const id = fx.rt.id();
    expectRefused(fx.rt.bunc(["create", "--bundle", b.dir, id]), "/proc/self/x");
    expectNothingLeft(b, id);
  });
});
