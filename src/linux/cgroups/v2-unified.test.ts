// cgroup v2 operations on a real cgroup2 hierarchy (root only): on a hybrid host that is the
// unified mount beside the v1 controllers. procs, freeze/thaw and cgroup.kill; the v2
// resource controllers this host lacks are covered by v2-writes.test.ts over a fake tree.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { addProcess, cgroupPids, createCgroup, destroyCgroup, killCgroup, type CgroupRecord } from "./cgroup.ts";
import { parseCgroupMounts } from "./detect.ts";
import { isFrozen, setFrozen } from "./freezer.ts";

const unified = parseCgroupMounts(readFileSync("/proc/self/mountinfo", "utf8")).unified;
const usable = process.getuid?.() === 0 && unified !== undefined;
const records: CgroupRecord[] = [];
const children: ReturnType<typeof Bun.spawn>[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill(9);
    await child.exited;
  }
  for (const r of records.splice(0)) {
    try {
      destroyCgroup(r);
    } catch {
      for (const d of [...r.created].reverse()) rmdirSync(d);
    }
  }
});

function v2Record(): CgroupRecord {
  const path = `/bunc-unit-${process.pid}-${records.length}`;
  const record: CgroupRecord = { version: "v2", path, dirs: { unified: join(unified!, path) }, created: [] };
  records.push(record);
  createCgroup(record);
  return record;
}

function sleeper() {
  const child = Bun.spawn(["sleep", "60"], { stdio: ["ignore", "ignore", "ignore"] });
  children.push(child);
  return child;
}

describe.skipIf(!usable)("cgroup v2 on the unified hierarchy", () => {
  test("a process added through cgroup.procs is listed", async () => {
    const r = v2Record();
    const child = sleeper();
    addProcess(r, child.pid);
    expect(cgroupPids(r)).toEqual([child.pid]);
    expect(readFileSync(`/proc/${child.pid}/cgroup`, "utf8")).toContain(`0::${r.path}`);
  });

  test("cgroup.freeze freezes and thaws", async () => {
    const r = v2Record();
    addProcess(r, sleeper().pid);
    setFrozen(r, true);
    expect(isFrozen(r)).toBe(true);
    expect(readFileSync(join(r.dirs.unified!, "cgroup.events"), "utf8")).toMatch(/^frozen 1$/m);
    setFrozen(r, false);
    expect(isFrozen(r)).toBe(false);
  });

  test("cgroup.kill kills every process, then the cgroup can go", async () => {
    const r = v2Record();
    const a = sleeper();
    const b = sleeper();
    addProcess(r, a.pid);
    addProcess(r, b.pid);
    expect(killCgroup(r)).toBe(true);
    expect(await a.exited).not.toBe(0);
    expect(await b.exited).not.toBe(0);
    expect(a.signalCode).toBe("SIGKILL");
    destroyCgroup(r);
    expect(existsSync(r.dirs.unified!)).toBe(false);
    records.pop();
  });
});
