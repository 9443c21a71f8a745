// runc's `update` and `events` on real containers: limits changed in the container's cgroup
// (read from the host through the paths in the container's state), values in runc's
// syntax, refusals that name the flag, the stats document, and the event stream with its
// OOM events.
import { describe, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buncPath } from "./support/bunc.ts";
import type { Bundle, BundleOptions } from "./support/bundle.ts";
import { bindMount, containerFixture, expectOk, expectRefused, hostDir, readOr, stateOf, waitFor } from "./support/assertions.ts";

const fx = containerFixture();

const MiB = 1024 * 1024;
const WAIT_FOR_GO = "echo up > /x/ready; while [ ! -e /x/go ]; do sleep 0.05; done";

/** A detached container running `script` (sh -c) with the host dir `shared` at /x; waits
 *  until the script has written /x/ready unless `start` is false (then it is only created). */
function container(script: string, opts: BundleOptions = {}, start = true): { id: string; b: Bundle; shared: string } {
  const b = fx.bundle({ ...opts, args: ["sh", "-c", script] });
  const shared = hostDir(b);
  b.config.mounts!.push(bindMount(shared, "/x"));
  b.writeConfig();
  const id = fx.rt.id();
  expectOk(fx.rt.bunc(["create", "--bundle", b.dir, id]));
  if (start) {
    expectOk(fx.rt.bunc(["start", id]));
    waitFor(() => existsSync(join(shared, "ready")), "the container to run");
  }
  return { id, b, shared };
}

const running = (opts: BundleOptions = {}) => container(`${WAIT_FOR_GO}; while :; do sleep 0.1; done`, opts);

interface CgroupPaths {
  v2: boolean;
  /** v1: controller → dir; v2: { unified: dir }. */
  dirs: Record<string, string>;
}

/** The container's cgroup directories, from its state file (bunc's, or runc's layout). */
function cgroupOf(id: string): CgroupPaths {
  const st = JSON.parse(readFileSync(join(fx.rt.root, id, "state.json"), "utf8"));
  if (st.cgroup?.dirs) return { v2: st.cgroup.version === "v2", dirs: st.cgroup.dirs };
  const paths = st.cgroup_paths as Record<string, string> | undefined;
  if (paths?.[""]) return { v2: true, dirs: { unified: paths[""] } };
  if (paths) return { v2: false, dirs: paths };
  throw new Error(`no cgroup paths in the state of ${id}`);
}

/** A file of the container's cgroup: `v1` is [controller, file], `v2` the file's name. */
function cgroupFile(id: string, v1: [string, string], v2: string): string {
  const cg = cgroupOf(id);
  return cg.v2 ? join(cg.dirs.unified!, v2) : join(cg.dirs[v1[0]]!, v1[1]);
}

const readCgroup = (id: string, v1: [string, string], v2: string) => readFileSync(cgroupFile(id, v1, v2), "utf8").trim();
const memoryLimit = (id: string) => readCgroup(id, ["memory", "memory.limit_in_bytes"], "memory.max");
const pidsMax = (id: string) => readCgroup(id, ["pids", "pids.max"], "pids.max");

/** The resources bunc has recorded for the container (bunc's state layout only). */
function recordedResources(id: string): Record<string, unknown> | undefined {
  const st = JSON.parse(readFileSync(join(fx.rt.root, id, "state.json"), "utf8"));
  return st.config?.linux?.resources;
}

const update = (id: string, ...args: string[]) => fx.rt.bunc(["update", ...args, id]);

describe("update", () => {
  test("--memory takes runc's sizes and changes the limit", () => {
    const { id } = running();
    expectOk(update(id, "--memory", "64m"));
    expect(memoryLimit(id)).toBe(String(64 * MiB));
    expectOk(update(id, "--memory", "1.5GiB"));
    expect(memoryLimit(id)).toBe(String(1.5 * 1024 * MiB));
    expectOk(update(id, "--memory", "100663296"));
    expect(memoryLimit(id)).toBe(String(96 * MiB));
    const recorded = recordedResources(id);
    if (recorded) expect(recorded.memory).toMatchObject({ limit: 96 * MiB });
  });

  test("--memory -1 lifts the limit", () => {
    const { id } = running({ config: { linux: { resources: { memory: { limit: 64 * MiB } } } } });
    expect(memoryLimit(id)).toBe(String(64 * MiB));
    expectOk(update(id, "--memory", "-1"));
    // v1 shows "unlimited" as a large page-aligned number, v2 as "max".
    expect(memoryLimit(id)).toMatch(/^(max|\d{16,})$/);
  });

  test("a later update sees the recorded limit: --memory-swap alone after --memory", () => {
    const { id } = running();
    expectOk(update(id, "--memory", "64m"));
    const swapFile = cgroupFile(id, ["memory", "memory.memsw.limit_in_bytes"], "memory.swap.max");
    if (!existsSync(swapFile)) return; // no swap accounting on this host
    expectOk(update(id, "--memory-swap", "128m"));
    // v1 holds memory+swap; v2 swap alone (memory+swap minus the recorded memory limit).
    expect(readFileSync(swapFile, "utf8").trim()).toBe(String(cgroupOf(id).v2 ? 64 * MiB : 128 * MiB));
    expect(memoryLimit(id)).toBe(String(64 * MiB));
  });

  test("--pids-limit, and -1 for no limit", () => {
    const { id } = running();
    expectOk(update(id, "--pids-limit", "10"));
    expect(pidsMax(id)).toBe("10");
    expectOk(update(id, "--pids-limit", "-1"));
    expect(pidsMax(id)).toBe("max");
  });

  test("--cpu-quota and --cpu-period; a quota alone keeps the period", () => {
    const { id } = running();
    expectOk(update(id, "--cpu-period", "200000", "--cpu-quota", "50000"));
    // v2's cpu.max is "QUOTA PERIOD"; v1 has a file for each.
    const cpu = () => {
      const cg = cgroupOf(id);
      if (cg.v2) return readOr(join(cg.dirs.unified!, "cpu.max")).trim();
      return ["cpu.cfs_quota_us", "cpu.cfs_period_us"].map((f) => readOr(join(cg.dirs.cpu!, f)).trim()).join(" ");
    };
    expect(cpu()).toBe("50000 200000");
    expectOk(update(id, "--cpu-quota", "30000"));
    expect(cpu()).toBe("30000 200000");
    expectOk(update(id, "--cpu-quota", "-1"));
    expect(cpu()).toMatch(/^(max|-1) 200000$/);
  });

  test("--resources FILE sets the JSON's fields", () => {
    const { id, b } = running();
    const file = join(b.dir, "resources.json");
    writeFileSync(file, JSON.stringify({ memory: { limit: 48 * MiB }, pids: { limit: 7 } }));
    expectOk(update(id, "--resources", file));
    expect(memoryLimit(id)).toBe(String(48 * MiB));
    expect(pidsMax(id)).toBe("7");
  });

  test("--resources - reads standard input; the other flags are ignored", () => {
    const { id } = running();
    expectOk(update(id, "--pids-limit", "99"));
    const r = fx.rt.bunc(["update", "-r", "-", "--pids-limit", "5", id], { stdin: JSON.stringify({ pids: { limit: 33 } }) });
    expect(r.exitCode).toBe(0);
    expect(pidsMax(id)).toBe("33");
  });

  test("a created container and a paused one can be updated", () => {
    const created = container("true", {}, false);
    expectOk(update(created.id, "--pids-limit", "12"));
    expect(pidsMax(created.id)).toBe("12");
    const { id } = running();
    expectOk(fx.rt.bunc(["pause", id]));
    expectOk(update(id, "--pids-limit", "13"));
    expect(pidsMax(id)).toBe("13");
    expectOk(fx.rt.bunc(["resume", id]));
  });

  test("a stopped container is refused", () => {
    const { id, shared } = running({ config: { linux: { resources: { pids: { limit: 50 } } } } });
    writeFileSync(join(shared, "go"), "");
    expectOk(fx.rt.bunc(["kill", id, "KILL"]));
    waitFor(() => stateOf(fx.rt.bunc(["state", id])).status === "stopped", "the container to stop");
    expectRefused(update(id, "--pids-limit", "10"), id, "stopped");
    expect(pidsMax(id)).toBe("50");
  });

  test("bad values are refused naming the flag and the value, and change nothing", () => {
    const { id } = running({ config: { linux: { resources: { memory: { limit: 64 * MiB }, pids: { limit: 50 } } } } });
    expectRefused(update(id, "--memory", "12x"), "--memory", "12x");
    expectRefused(update(id, "--memory", "1.5.3g"), "--memory", "1.5.3g");
    expectRefused(update(id, "--pids-limit", "abc"), "--pids-limit", "abc");
    expectRefused(update(id, "--cpu-quota", "1.5"), "--cpu-quota", "1.5");
    expectRefused(update(id, "--cpu-period", "-5"), "--cpu-period", "-5");
    expectRefused(update(id, "--cpu-share", "1"), "--cpu-share", '"1"');
    expectRefused(update(id, "--blkio-weight", "5000"), "--blkio-weight", "5000");
    expectRefused(update(id, "--l3-cache-schema", "L3:0=f"), "--l3-cache-schema", "Intel RDT");
    expectRefused(update(id, "--mem-bw-schema", "MB:0=50"), "--mem-bw-schema", "Intel RDT");
    expectRefused(fx.rt.bunc(["update", "-r", "-", id], { stdin: '{"memory": {"limit": "lots"}}' }), "memory.limit", "lots");
    expectRefused(fx.rt.bunc(["update", "-r", "-", id], { stdin: '{"memory": ' }), "--resources", "invalid JSON");
    expectRefused(update(id, "-r", join(fx.rt.base, "no-such-file.json")), "no-such-file.json");
    expect(memoryLimit(id)).toBe(String(64 * MiB));
    expect(pidsMax(id)).toBe("50");
  });

  test("a refused kernel write names the flag", () => {
    // The container holds more than 4 KiB: v1 refuses the limit (EBUSY); v2 takes it and
    // the OOM killer acts, so only v1 is checked for the message.
    const { id } = running();
    const r = update(id, "--memory", "4k");
    if (!cgroupOf(id).v2) expectRefused(r, "--memory", "4k");
  });

  test("--kernel-memory is accepted and ignored", () => {
    const { id } = running();
    expectOk(update(id, "--kernel-memory", "64m"));
  });

  test("device rules in --resources are applied", () => {
    const { id } = running();
    const rules = [
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 11, access: "rw" },
    ];
    expectOk(fx.rt.bunc(["update", "-r", "-", id], { stdin: JSON.stringify({ devices: rules }) }));
    const cg = cgroupOf(id);
    if (!cg.v2 && cg.dirs.devices) expect(readOr(join(cg.dirs.devices, "devices.list"))).toContain("c 1:11 rw");
  });
});

// --- events -----------------------------------------------------------------------------------

interface EventLine {
  type: string;
  id: string;
  data?: any;
}

/** `bunc events ARGS` in the background, its standard output going to a file. */
function eventsProcess(args: string[]) {
  const out = join(fx.rt.base, `events-${Math.random().toString(36).slice(2, 8)}.out`);
  const fd = openSync(out, "w");
  const proc = Bun.spawn([buncPath(), "--root", fx.rt.root, "events", ...args], {
    cwd: fx.rt.base,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    stdin: "ignore",
    stdout: fd,
    stderr: "pipe",
  });
  closeSync(fd);
  const lines = (): EventLine[] =>
    readOr(out)
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l));
  return { proc, lines };
}

/** Waits (in steps, so the event loop runs) for `proc` to exit; kills it after `ms`. */
async function exitOf(proc: ReturnType<typeof Bun.spawn>, ms: number): Promise<number | null> {
  const timer = setTimeout(() => proc.kill("SIGKILL"), ms);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

describe("events", () => {
  test("--stats prints one stats line in runc's shape", () => {
    const { id } = running();
    const out = expectOk(fx.rt.bunc(["events", "--stats", id]));
    const lines = out.split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    const e = JSON.parse(lines[0]!) as EventLine;
    expect(e.type).toBe("stats");
    expect(e.id).toBe(id);
    expect(Object.keys(e.data)).toEqual(expect.arrayContaining(["cpu", "memory", "pids", "blkio", "hugetlb"]));
    expect(e.data.cpu.usage.total).toBeGreaterThan(0);
    expect(typeof e.data.cpu.usage.kernel).toBe("number");
    expect(typeof e.data.cpu.usage.user).toBe("number");
    expect(e.data.cpu.throttling).toBeDefined();
    expect(e.data.memory.usage.usage).toBeGreaterThan(0);
    expect(e.data.memory.usage.limit).toBeGreaterThan(0);
    expect(typeof e.data.memory.usage.failcnt).toBe("number");
    expect(e.data.pids.current).toBeGreaterThanOrEqual(1);
  });

  test("--stats shows the limits set by update", () => {
    const { id } = running();
    expectOk(update(id, "--memory", "80m", "--pids-limit", "21"));
    const e = JSON.parse(expectOk(fx.rt.bunc(["events", "--stats", id])));
    expect(e.data.memory.usage.limit).toBe(80 * MiB);
    expect(e.data.pids.limit).toBe(21);
  });

  test("a stopped container has no events", () => {
    const { id, shared } = running();
    writeFileSync(join(shared, "go"), "");
    expectOk(fx.rt.bunc(["kill", id, "KILL"]));
    waitFor(() => stateOf(fx.rt.bunc(["state", id])).status === "stopped", "the container to stop");
    expectRefused(fx.rt.bunc(["events", "--stats", id]), id, "not running");
    expectRefused(fx.rt.bunc(["events", id]), id, "not running");
  });

  test("--interval takes Go durations and must be positive", () => {
    const { id } = running();
    expectRefused(fx.rt.bunc(["events", "--interval", "0s", id]), "--interval");
    expectRefused(fx.rt.bunc(["events", "--interval", "5", id]), "--interval", '"5"');
    expectRefused(fx.rt.bunc(["events", "--interval", "fast", id]), "--interval", "fast");
  });

  test("the stream prints stats every --interval and ends on SIGTERM", async () => {
    const { id } = running();
    const ev = eventsProcess(["--interval", "100ms", id]);
    try {
      await waitForAsync(() => ev.lines().length >= 3, "three stats lines");
      ev.proc.kill("SIGTERM");
      expect(await exitOf(ev.proc, 5_000)).toBe(0);
      const lines = ev.lines();
      expect(lines.every((l) => l.type === "stats" && l.id === id)).toBe(true);
      expect(lines[0]!.data.pids.current).toBeGreaterThanOrEqual(1);
    } finally {
      ev.proc.kill("SIGKILL");
    }
  });

  test("the stream ends, with exit 0, when the container stops", async () => {
    const { id, shared } = container(`${WAIT_FOR_GO}; exit 0`);
    const ev = eventsProcess(["--interval", "1m", id]);
    try {
      // Give it time to read the container's state before the container goes.
      await Bun.sleep(300);
      writeFileSync(join(shared, "go"), "");
      expect(await exitOf(ev.proc, 10_000)).toBe(0);
      expect(ev.lines()).toEqual([]);
    } finally {
      ev.proc.kill("SIGKILL");
    }
  });

  test("an OOM kill is an oom event; the stream ends when the container dies of it", async () => {
    // 32 MiB: room for the container's own start-up, not for `tail /dev/zero`, whose one
    // endless line grows until the OOM killer ends it. No swap to escape to.
    const limit = 32 * MiB;
    const hostHasSwap = readOr("/proc/swaps").trim().split("\n").length > 1;
    const memory = hostHasSwap ? { limit, swap: limit } : { limit };
    const { id, shared } = container(`${WAIT_FOR_GO}; tail /dev/zero`, { config: { linux: { resources: { memory } } } });
    const ev = eventsProcess(["--interval", "100ms", id]);
    try {
      // Once a stats line is out, the stream is watching the OOM counter.
      await waitForAsync(() => ev.lines().length >= 1, "the first stats line");
      writeFileSync(join(shared, "go"), "");
      expect(await exitOf(ev.proc, 20_000)).toBe(0);
      const lines = ev.lines();
      expect(lines.filter((l) => l.type === "oom")).toContainEqual({ type: "oom", id });
      expect(stateOf(fx.rt.bunc(["state", id])).status).toBe("stopped");
    } finally {
      ev.proc.kill("SIGKILL");
    }
  });
});

/** waitFor that lets the event loop run between checks (for spawned processes). */
async function waitForAsync(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}
