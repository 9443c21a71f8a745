// config-linux.md, control groups: where a container's cgroup is (linux.cgroupsPath: absent →
// /bunc/<id>, absolute, relative to the caller's), that linux.resources reach their files
// and take effect (pids, memory, devices), pause/resume through the freezer, ps and kill -a
// through the cgroup, delete removing only what bunc made, and the errors of bad values.
// Written for a v1 or hybrid host (v1 controllers; hugetlb on the cgroup2 tree when hybrid).
//
// Every test deletes its containers itself and checks that nothing is left: no state, no
// process, no cgroup dir in any hierarchy for its ids and paths. A safety net after each
// test removes whatever cgroup a failed test left, and fails the test for it.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Bundle, RuntimeConfig } from "./support/bundle.ts";
import {
  bindMount,
  containerFixture,
  expectOk,
  expectRefused,
  hostDir,
  isLiveProcess,
  readOr,
  stateOf,
  waitFor,
} from "./support/assertions.ts";
import {
  cgroupDirs,
  cgroupFile,
  cgroupMounts,
  cgroupProcs,
  cgroupsLeft,
  expectedCgroup,
  hasV1,
  mountPointOf,
  procCgroups,
  removeCgroupTree,
  UNIFIED,
} from "./support/cgroups.ts";

const fx = containerFixture();

const MiB = 1 << 20;
const HAS_V1 = hasV1();
const HAS_2MB_PAGES = existsSync("/sys/kernel/mm/hugepages/hugepages-2048kB");
// Hybrid: a cgroup2 tree beside the v1 hierarchies, offering hugetlb (as on this project's CI).
const UNIFIED_HUGETLB =
  HAS_V1 && mountPointOf().has(UNIFIED) && readOr(join(mountPointOf().get(UNIFIED)!, "cgroup.controllers")).split(/\s+/).includes("hugetlb");

// Names (ids, path components) and exact dirs whose cgroups must not outlive the test, and
// dirs the test made itself (removed after it, last first).
let names: string[] = [];
let dirs: string[] = [];
let ownDirs: string[] = [];
beforeEach(() => {
  names = [];
  dirs = [];
  ownDirs = [];
});
// Runs after the fixture's afterEach (registered first), which has `delete -f`-ed every
// container of the test: what is left now, bunc left.
afterEach(() => {
  const left = cgroupsLeft(names, dirs);
  for (const d of [...left].sort((a, b) => b.length - a.length)) {
    try {
      removeCgroupTree(d);
    } catch {}
  }
  for (const d of ownDirs.reverse()) removeCgroupTree(d);
  if (left.length > 0) throw new Error(`cgroups left behind: ${left.join(", ")}`);
});

const randomHex = () => Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, "0")).join("");

/** A fresh container id whose cgroups the safety net looks for. */
function newId(): string {
  const id = fx.rt.id();
  names.push(id);
  return id;
}

/** Keeps an eye on (and after the test, removes) the dirs of `where`. */
function watch(where: Record<string, string>): Record<string, string> {
  const d = cgroupDirs(where);
  dirs.push(...Object.values(d));
  return d;
}

/** A bundle running `script` with sh -c, with the host dir `shared` at /x. */
function scriptBundle(script: string, mutate?: (c: RuntimeConfig) => void): { b: Bundle; shared: string } {
  const b = fx.bundle({ args: ["sh", "-c", script], mutate });
  const shared = hostDir(b);
  b.config.mounts!.push(bindMount(shared, "/x"));
  b.writeConfig();
  return { b, shared };
}

/** Sets linux.resources (and optionally more) on a config. */
const withResources =
  (resources: Record<string, unknown>, more?: (c: RuntimeConfig) => void) =>
  (c: RuntimeConfig): void => {
    c.linux!.resources = resources;
    more?.(c);
  };

const create = (b: Bundle, id: string) => fx.rt.bunc(["create", "--bundle", b.dir, id]);
const statusOf = (id: string) => stateOf(fx.rt.bunc(["state", id])).status;
const waitStatus = (id: string, status: string) => waitFor(() => statusOf(id) === status, `${id} to be ${status}`);

/** The cgroup record bunc keeps in its state file. */
function recordOf(id: string): { path: string; dirs: Record<string, string> } {
  return JSON.parse(readFileSync(join(fx.rt.root, id, "state.json"), "utf8")).cgroup;
}

/** Creates and starts a container, waits for /x/ready, and returns the init's host pid. */
function startReady(b: Bundle, shared: string, id: string): number {
  expectOk(create(b, id));
  expectOk(fx.rt.bunc(["start", id]));
  waitFor(() => existsSync(join(shared, "ready")), `${id} to write /x/ready`);
  return stateOf(fx.rt.bunc(["state", id])).pid;
}

/** Host pids of the children of `pid`. */
const childrenOf = (pid: number) => readOr(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/).filter(Boolean).map(Number);

/** Deletes the container (-f when asked) and checks that nothing of it is left: no state,
 *  no live process among `pids`, no cgroup dir of `cgroupDirsOf` or named after the id. */
function deleteAndCheck(id: string, opts: { force?: boolean; pids?: number[]; cgroupDirsOf?: Record<string, string> } = {}): void {
  expectOk(fx.rt.bunc(["delete", ...(opts.force ? ["-f"] : []), id]));
  for (const pid of opts.pids ?? []) waitFor(() => !isLiveProcess(pid), `container process ${pid} to be gone`, 5_000);
  expect(cgroupsLeft([id], Object.values(opts.cgroupDirsOf ?? {}))).toEqual([]);
  fx.rt.assertNoLeftovers();
}

// A script that starts a background sleep, says it is ready, and waits.
const CHILD_THEN_WAIT = "sleep 1000 & echo ready > /x/ready; wait";

describe.skipIf(!HAS_V1)("placement", () => {
  /** Starts a container with `cgroupsPath` (undefined: none) and checks that its init and a
   *  child are in `expectedPath` (resolved per hierarchy), in every hierarchy. */
  function checkPlacement(cgroupsPath: string | undefined, expectedPath: string): void {
    const id = newId();
    const path = expectedPath.replace("<id>", id);
    const where = expectedCgroup(path);
    const dirsOf = watch(where);
    const { b, shared } = scriptBundle(CHILD_THEN_WAIT, (c) => {
      if (cgroupsPath !== undefined) c.linux!.cgroupsPath = cgroupsPath.replace("<id>", id);
    });
    const pid = startReady(b, shared, id);
    const [child] = childrenOf(pid);
    expect(child).toBeGreaterThan(0);

    // what the kernel says, on the host, for the init and for its child
    expect(procCgroups(pid)).toEqual(where);
    expect(procCgroups(child!)).toEqual(where);
    // and what bunc recorded
    const rec = recordOf(id);
    expect(rec.dirs).toEqual(dirsOf);
    for (const dir of Object.values(dirsOf)) expect(cgroupProcs(dir).sort()).toEqual([pid, child!].sort());

    deleteAndCheck(id, { force: true, pids: [pid, child!], cgroupDirsOf: dirsOf });
  }

  test("without linux.cgroupsPath: /bunc/<id> in every hierarchy, for the init and its children", () => {
    checkPlacement(undefined, "/bunc/<id>");
  });

  test("an absolute cgroupsPath is taken from each hierarchy's root; delete removes the parents it made", () => {
    checkPlacement("/bunc-test-<id>/abs", "/bunc-test-<id>/abs");
    expect(cgroupsLeft(names)).toEqual([]); // the bunc-test-<id> parents too
  });

  test("a relative cgroupsPath lands under the caller's own cgroup in each hierarchy", () => {
    // resolved against /proc/self/cgroup of this test process (bunc's parent), per hierarchy
    checkPlacement("bunc-test-<id>/rel", "bunc-test-<id>/rel");
    expect(cgroupsLeft(names)).toEqual([]);
  });
});

describe.skipIf(!HAS_V1)("resources reach their files", () => {
  test("memory (limit, reservation, memory+swap), cpu (shares, quota, period), cpuset.cpus, pids", () => {
    const id = newId();
    const d = watch(expectedCgroup(`/bunc/${id}`));
    const b = fx.bundle({
      args: ["sleep", "1000"],
      mutate: withResources({
        memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 128 * MiB },
        cpu: { shares: 512, quota: 50_000, period: 100_000, cpus: "0", mems: "0" },
        pids: { limit: 20 },
      }),
    });
    expectOk(create(b, id));
    const pid = stateOf(fx.rt.bunc(["state", id])).pid;
    expect({
      limit: cgroupFile(d.memory!, "memory.limit_in_bytes"),
      reservation: cgroupFile(d.memory!, "memory.soft_limit_in_bytes"),
      memsw: cgroupFile(d.memory!, "memory.memsw.limit_in_bytes"),
      shares: cgroupFile(d.cpu!, "cpu.shares"),
      quota: cgroupFile(d.cpu!, "cpu.cfs_quota_us"),
      period: cgroupFile(d.cpu!, "cpu.cfs_period_us"),
      cpus: cgroupFile(d.cpuset!, "cpuset.cpus"),
      mems: cgroupFile(d.cpuset!, "cpuset.mems"),
      pids: cgroupFile(d.pids!, "pids.max"),
    }).toEqual({
      limit: String(64 * MiB),
      reservation: String(32 * MiB),
      memsw: String(128 * MiB),
      shares: "512",
      quota: "50000",
      period: "100000",
      cpus: "0",
      mems: "0",
      pids: "20",
    });
    // the init is in there already (before start)
    expect(cgroupProcs(d.memory!)).toEqual([pid]);
    deleteAndCheck(id, { force: true, pids: [pid], cgroupDirsOf: d });
  });

  test.skipIf(!HAS_2MB_PAGES || !UNIFIED_HUGETLB)("hugepageLimits 2MB: hugetlb.2MB.max in the container's cgroup2 dir", () => {
    const id = newId();
    const d = watch(expectedCgroup(`/bunc/${id}`));
    const b = fx.bundle({ args: ["sleep", "1000"], mutate: withResources({ hugepageLimits: [{ pageSize: "2MB", limit: 4 * MiB }] }) });
    expectOk(create(b, id));
    const pid = stateOf(fx.rt.bunc(["state", id])).pid;
    expect(cgroupFile(d[UNIFIED]!, "hugetlb.2MB.max")).toBe(String(4 * MiB));
    deleteAndCheck(id, { force: true, pids: [pid], cgroupDirsOf: d });
  });

  test("devices: deny-all and the allow rules make devices.list, with only the default devices besides", () => {
    const id = newId();
    const d = watch(expectedCgroup(`/bunc/${id}`));
    const b = fx.bundle({
      args: ["sleep", "1000"],
      mutate: withResources({
        devices: [
          { allow: false, access: "rwm" },
          { allow: true, type: "c", major: 1, minor: 11, access: "r" },
          { allow: true, type: "b", major: 7, access: "rw" },
        ],
      }),
    });
    expectOk(create(b, id));
    const pid = stateOf(fx.rt.bunc(["state", id])).pid;
    const list = cgroupFile(d.devices!, "devices.list").split("\n");
    expect(list).toContain("c 1:11 r");
    expect(list).toContain("b 7:* rw");
    // runc's default allowed devices (plus /dev/console): nothing else, and no "a *:* rwm"
    const defaults = ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"];
    expect(list.filter((l) => l !== "c 1:11 r" && l !== "b 7:* rw" && !defaults.includes(l))).toEqual([]);
    for (const must of ["c 1:3 rwm", "c 1:5 rwm", "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm"]) expect(list).toContain(must);
    deleteAndCheck(id, { force: true, pids: [pid], cgroupDirsOf: d });
  });
});

describe.skipIf(!HAS_V1)("devices are enforced", () => {
  // /dev/kmsg (c 1:11): reading it needs CAP_SYSLOG besides the device cgroup, so the
  // container gets that capability and only the cgroup can be what refuses. Opening it
  // write-only (and writing nothing) logs nothing.
  const KMSG_SCRIPT =
    "head -c1 /dev/kmsg >/dev/null && echo read-ok || echo read-failed; (exec 3>/dev/kmsg) && echo open-ok || echo open-failed";
  const withKmsg = (rules: Record<string, unknown>[]) =>
    withResources({ devices: rules }, (c) => {
      c.linux!.devices = [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 0o666, uid: 0, gid: 0 }];
      for (const set of ["bounding", "effective", "permitted"] as const) c.process.capabilities![set]!.push("CAP_SYSLOG");
    });

  test("a node of linux.devices without an allow rule cannot be opened (Operation not permitted)", () => {
    const id = newId();
    const b = fx.bundle({ args: ["sh", "-c", KMSG_SCRIPT], mutate: withKmsg([{ allow: false, access: "rwm" }]) });
    const r = fx.rt.bunc(["run", "--bundle", b.dir, id]);
    expect(r.stdout).toBe("read-failed\nopen-failed\n");
    expect(r.stderr).toContain("Operation not permitted");
    expect(cgroupsLeft([id])).toEqual([]);
    fx.rt.assertNoLeftovers();
  });

  test("with an allow rule for it, the same node opens", () => {
    const id = newId();
    const b = fx.bundle({
      args: ["sh", "-c", KMSG_SCRIPT],
      mutate: withKmsg([
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 11, access: "rw" },
      ]),
    });
    const r = fx.rt.bunc(["run", "--bundle", b.dir, id]);
    expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({ exitCode: 0, stdout: "read-ok\nopen-ok\n", stderr: "" });
    expect(cgroupsLeft([id])).toEqual([]);
    fx.rt.assertNoLeftovers();
  });
});

describe.skipIf(!HAS_V1)("limits take effect", () => {
  test("pids.limit 20: a fork bomb cannot fork past it", () => {
    const id = newId();
    // The bomb runs in a subshell that dies at the first failed fork; its sleeps stay. The
    // outer shell then counts /proc with a glob (no fork needed).
    const b = fx.bundle({
      args: ["sh", "-c", "(for i in $(seq 1 40); do sleep 5 & done); set -- /proc/[0-9]*; echo tasks=$#"],
      mutate: withResources({ pids: { limit: 20 } }),
    });
    const r = fx.rt.bunc(["run", "--bundle", b.dir, id]);
    expect(r.stderr).toMatch(/can't fork|Resource temporarily unavailable/);
    const tasks = Number(/tasks=(\d+)/.exec(r.stdout)?.[1]);
    expect(tasks).toBeGreaterThan(10); // the bomb did go off…
    expect(tasks).toBeLessThanOrEqual(20); // …and stopped at the limit
    expect(r.exitCode).toBe(0);
    expect(cgroupsLeft([id])).toEqual([]);
    fx.rt.assertNoLeftovers();
  });

  test("memory.limit 32 MiB: a process allocating past it is OOM-killed (run exits 137)", () => {
    const id = newId();
    // busybox tail keeps the whole "last line" of /dev/zero, which never ends
    const b = fx.bundle({ args: ["tail", "/dev/zero"], mutate: withResources({ memory: { limit: 32 * MiB, swap: 32 * MiB } }) });
    const r = fx.rt.bunc(["run", "--bundle", b.dir, id]);
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(137);
    expect(cgroupsLeft([id])).toEqual([]);
    fx.rt.assertNoLeftovers();
  });

  test("memory.limit 8 MiB: the container still starts and runs (bunc's init is small there)", () => {
    const id = newId();
    const b = fx.bundle({ args: ["echo", "ok"], mutate: withResources({ memory: { limit: 8 * MiB, swap: 8 * MiB } }) });
    const r = fx.rt.bunc(["run", "--bundle", b.dir, id], { timeoutMs: 20_000 });
    expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut }).toEqual({
      exitCode: 0,
      stdout: "ok\n",
      stderr: "",
      timedOut: false,
    });
    expect(cgroupsLeft([id])).toEqual([]);
    fx.rt.assertNoLeftovers();
  });
});

describe.skipIf(!HAS_V1)("pause and resume", () => {
  // Appends a line every 0.1 s: the line count is its progress.
  const COUNTER = "echo ready > /x/ready; while :; do echo x >> /x/count; sleep 0.1; done";
  const count = (shared: string) => readOr(join(shared, "count")).split("\n").filter(Boolean).length;

  test("a paused container makes no progress (state and list say paused); after resume it does", () => {
    const id = newId();
    const d = watch(expectedCgroup(`/bunc/${id}`));
    const { b, shared } = scriptBundle(COUNTER);
    const pid = startReady(b, shared, id);
    waitFor(() => count(shared) >= 3, "the counter to count");

    expectOk(fx.rt.bunc(["pause", id]));
    expect(statusOf(id)).toBe("paused");
    expect(cgroupFile(d.freezer!, "freezer.state")).toBe("FROZEN");
    const row = expectOk(fx.rt.bunc(["list"]))
      .split("\n")
      .find((l) => l.split(/\s+/)[0] === id);
    expect(row?.split(/\s+/)).toContain("paused");
    const before = count(shared);
    Bun.sleepSync(700);
    expect(count(shared)).toBe(before);

    expectOk(fx.rt.bunc(["resume", id]));
    expect(statusOf(id)).toBe("running");
    expect(cgroupFile(d.freezer!, "freezer.state")).toBe("THAWED");
    waitFor(() => count(shared) >= before + 3, "the counter to count again");

    deleteAndCheck(id, { force: true, pids: [pid], cgroupDirsOf: d });
  });

  test("pause of a created or stopped container and resume of a running one fail", () => {
    const id = newId();
    const d = watch(expectedCgroup(`/bunc/${id}`));
    const { b, shared } = scriptBundle("echo ready > /x/ready; sleep 1000");
    expectOk(create(b, id));
    expectRefused(fx.rt.bunc(["pause", id]), id);
    expectRefused(fx.rt.bunc(["resume", id]), id);
    expect(statusOf(id)).toBe("created");

    expectOk(fx.rt.bunc(["start", id]));
    waitFor(() => existsSync(join(shared, "ready")), "the container to start");
    expectRefused(fx.rt.bunc(["resume", id]), id);
    expect(statusOf(id)).toBe("running");

    expectOk(fx.rt.bunc(["kill", id, "KILL"]));
    waitStatus(id, "stopped");
    expectRefused(fx.rt.bunc(["pause", id]), id);
    expectRefused(fx.rt.bunc(["resume", id]), id);
    expect(statusOf(id)).toBe("stopped");
    deleteAndCheck(id, { cgroupDirsOf: d });
  });

  test("delete -f of a paused container kills it and leaves no cgroup", () => {
    const id = newId();
    const d = watch(expectedCgroup(`/bunc/${id}`));
    const { b, shared } = scriptBundle(CHILD_THEN_WAIT);
    const pid = startReady(b, shared, id);
    const children = childrenOf(pid);
    expectOk(fx.rt.bunc(["pause", id]));
    expect(statusOf(id)).toBe("paused");
    deleteAndCheck(id, { force: true, pids: [pid, ...children], cgroupDirsOf: d });
  });
});

describe.skipIf(!HAS_V1)("ps", () => {
  test("ps -f json lists the host pids of the init and of its child; the table has them in its PID column", () => {
    const id = newId();
    const d = watch(expectedCgroup(`/bunc/${id}`));
    const { b, shared } = scriptBundle(CHILD_THEN_WAIT);
    const pid = startReady(b, shared, id);
    const [child] = childrenOf(pid);
    expect(child).toBeGreaterThan(0);

    const json = JSON.parse(expectOk(fx.rt.bunc(["ps", "-f", "json", id]))) as number[];
    expect([...json].sort()).toEqual([pid, child!].sort());

    const lines = expectOk(fx.rt.bunc(["ps", id])).trimEnd().split("\n");
    const column = lines[0]!.trim().split(/\s+/).indexOf("PID");
    expect(column).toBeGreaterThanOrEqual(0);
    const listed = lines.slice(1).map((l) => Number(l.trim().split(/\s+/)[column]));
    expect(listed.sort()).toEqual([pid, child!].sort());

    deleteAndCheck(id, { force: true, pids: [pid, child!], cgroupDirsOf: d });
  });
});

describe.skipIf(!HAS_V1)("kill -a and the host's pid namespace", () => {
  const hostPidNs = (c: RuntimeConfig) => {
    c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== "pid");
  };
  const TWO_CHILDREN = "sleep 1000 & sleep 1000 & echo ready > /x/ready; wait";

  test("kill -a KILL kills every process of the cgroup, though they share the host's pid namespace", () => {
    const id = newId();
    const d = watch(expectedCgroup(`/bunc/${id}`));
    const { b, shared } = scriptBundle(TWO_CHILDREN, hostPidNs);
    const pid = startReady(b, shared, id);
    const pids = cgroupProcs(d.pids!);
    expect(pids).toContain(pid);
    expect(pids).toHaveLength(3);

    expectOk(fx.rt.bunc(["kill", "-a", id, "KILL"]));
    for (const p of pids) waitFor(() => !isLiveProcess(p), `process ${p} to die`, 5_000);
    waitStatus(id, "stopped");
    deleteAndCheck(id, { cgroupDirsOf: d });
  });

  test("delete of a stopped container whose init left processes behind kills them and removes the cgroup", () => {
    const id = newId();
    const d = watch(expectedCgroup(`/bunc/${id}`));
    const { b, shared } = scriptBundle(TWO_CHILDREN, hostPidNs);
    const pid = startReady(b, shared, id);
    const children = childrenOf(pid);
    expect(children).toHaveLength(2);
    expectOk(fx.rt.bunc(["kill", id, "KILL"]));
    waitStatus(id, "stopped");
    // with the host's pid namespace, the init's children outlive it
    for (const c of children) expect(isLiveProcess(c)).toBe(true);
    deleteAndCheck(id, { pids: children, cgroupDirsOf: d });
  });
});

describe.skipIf(!HAS_V1)("delete and cgroups bunc did not make", () => {
  /** Makes /<name> in every v1 hierarchy (not on the cgroup2 tree); with `fillCpuset` its
   *  cpuset gets the root's cpus and mems (mkdir leaves them empty). Returns the dirs. */
  function makeParent(name: string, fillCpuset: boolean): string[] {
    const made: string[] = [];
    for (const h of cgroupMounts().filter((m) => !m.v2)) {
      const dir = join(h.mountPoint, name);
      mkdirSync(dir);
      made.push(dir);
      ownDirs.push(dir);
      if (fillCpuset && h.keys.includes("cpuset")) {
        for (const f of ["cpuset.cpus", "cpuset.mems"]) writeFileSync(join(dir, f), cgroupFile(h.mountPoint, f));
      }
    }
    return made;
  }

  /** Runs a container in /<parent>/<id> and checks delete removes its dirs (and the cgroup2
   *  parent it had to make) but keeps the v1 parents made here. */
  function keepsParent(fillCpuset: boolean): void {
    const parent = `bunc-test-parent-${randomHex()}`;
    const parents = makeParent(parent, fillCpuset);
    // no parent was made on the cgroup2 tree: the one there is bunc's to make and remove
    if (mountPointOf().has(UNIFIED)) dirs.push(join(mountPointOf().get(UNIFIED)!, parent));
    const id = newId();
    const where = expectedCgroup(`/${parent}/${id}`);
    const d = watch(where);
    const { b, shared } = scriptBundle(CHILD_THEN_WAIT, (c) => {
      c.linux!.cgroupsPath = `/${parent}/${id}`;
    });
    const pid = startReady(b, shared, id);
    expect(procCgroups(pid)).toEqual(where);
    deleteAndCheck(id, { force: true, pids: [pid], cgroupDirsOf: d });
    for (const p of parents) expect(`${p}: ${existsSync(p)}`).toBe(`${p}: true`);
    if (d[UNIFIED]) expect(existsSync(join(d[UNIFIED]!, ".."))).toBe(false); // bunc made that one
    for (const p of [...parents].reverse()) rmdirSync(p);
    expect(cgroupsLeft([parent])).toEqual([]);
  }

  test("a cgroupsPath under an existing parent: delete removes the container's dirs and keeps the parent", () => {
    keepsParent(true);
  });

  test("an existing parent with an empty cpuset (as mkdir leaves it) still takes a container, as with runc", () => {
    // runc fills empty cpuset.cpus/mems of the ancestors from their parents (cpusetEnsureParent)
    keepsParent(false);
  });
});

describe.skipIf(!HAS_V1)("bad resources", () => {
  /** create fails with stderr matching `patterns`, and leaves no state, process or cgroup. */
  function refusedCleanly(resources: Record<string, unknown>, ...patterns: (string | RegExp)[]): void {
    const id = newId();
    const b = fx.bundle({ args: ["sleep", "1000"], mutate: withResources(resources) });
    const r = fx.rt.bunc(["create", "--bundle", b.dir, id], { timeoutMs: 20_000 });
    expectRefused(r, ...patterns);
    expect(fx.rt.bunc(["state", id]).exitCode).not.toBe(0);
    expect(cgroupsLeft([id])).toEqual([]);
    fx.rt.assertNoLeftovers();
  }

  test("an unknown huge page size names linux.resources.hugepageLimits[0].pageSize", () => {
    refusedCleanly({ hugepageLimits: [{ pageSize: "3MB", limit: 4 * MiB }] }, "linux.resources.hugepageLimits[0].pageSize", "3MB");
  });

  test("linux.resources.unified on a v1 cgroup is refused, naming it", () => {
    refusedCleanly({ unified: { "memory.max": String(64 * MiB) } }, "linux.resources.unified");
  });

  test("memory.swap below memory.limit names linux.resources.memory.swap", () => {
    refusedCleanly({ memory: { limit: 64 * MiB, swap: 32 * MiB } }, "linux.resources.memory.swap");
  });

  test("a memory+swap limit the kernel refuses (below the unlimited memory limit) names the file and the value", () => {
    refusedCleanly({ memory: { swap: MiB } }, "memory.memsw.limit_in_bytes", String(MiB));
  });

  test("cpuset.cpus the host does not have names the file and the value", () => {
    refusedCleanly({ cpu: { cpus: "999" } }, "cpuset.cpus", "999");
  });

  test("a memory limit too small for the init fails create promptly (not a 60 s hang), naming memory", () => {
    const started = Date.now();
    refusedCleanly({ memory: { limit: 4096 } }, /memory|OOM/i);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 45_000);
});

describe.skipIf(!UNIFIED_HUGETLB || !HAS_2MB_PAGES)("the cgroup2 tree of a hybrid host", () => {
  test("with hugepageLimits the container is in <unified>/<path> too, with its hugetlb limit there", () => {
    const id = newId();
    const path = `/bunc-test-${id}/v2`;
    const where = expectedCgroup(path);
    const d = watch(where);
    const { b, shared } = scriptBundle(CHILD_THEN_WAIT, (c) => {
      c.linux!.cgroupsPath = path;
      c.linux!.resources = { hugepageLimits: [{ pageSize: "2MB", limit: 2 * MiB }] };
    });
    const pid = startReady(b, shared, id);
    const [child] = childrenOf(pid);
    expect(procCgroups(pid)[UNIFIED]).toBe(path);
    expect(cgroupProcs(d[UNIFIED]!).sort()).toEqual([pid, child!].sort());
    expect(cgroupFile(d[UNIFIED]!, "hugetlb.2MB.max")).toBe(String(2 * MiB));
    deleteAndCheck(id, { force: true, pids: [pid, child!], cgroupDirsOf: d });
    expect(cgroupsLeft(names)).toEqual([]);
  });
});
