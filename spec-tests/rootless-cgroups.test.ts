// cgroup v2 delegation for rootless containers, for real on this hybrid host: its cgroup2
// mount (/sys/fs/cgroup/unified) holds the hugetlb controller. The test delegates a subtree
// there to its user as systemd's Delegate=yes does (the directory and its cgroup.procs,
// cgroup.subtree_control and cgroup.threads chowned to the user; the user's processes in a
// leaf below it, as DelegateSubgroup= puts them), then runs rootless containers from inside
// it. The user, the subtree and anything below it are removed after, passed or failed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTestUser, type TestUser } from "./support/rootless-user.ts";

const UNIFIED = "/sys/fs/cgroup/unified";
const ROOT_SUBTREE = join(UNIFIED, "cgroup.subtree_control");
let user: TestUser;
let delegated: string;
let leaf: string;
let enabledAtRoot = false;
let n = 0;
const id = () => `rlc-${process.pid}-${++n}`;
// The smallest huge page size this host offers, as the spec names it ("2MB").
const pageSize = () => {
  const kb = Math.min(...readdirSync("/sys/kernel/mm/hugepages").map((d) => Number(/hugepages-(\d+)kB/.exec(d)![1])));
  return kb >= 1024 * 1024 ? `${kb / 1024 / 1024}GB` : kb >= 1024 ? `${kb / 1024}MB` : `${kb}KB`;
};

/** rmdir a cgroup tree, children first (a cgroup directory holds only cgroups). */
function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(join(dir, e.name));
  for (let i = 0; i < 100; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EBUSY") throw err;
      Bun.sleepSync(20); // its last processes are exiting
    }
  }
}

beforeAll(() => {
  user = createTestUser();
  if (!readFileSync(ROOT_SUBTREE, "utf8").split(/\s+/).includes("hugetlb")) {
    writeFileSync(ROOT_SUBTREE, "+hugetlb");
    enabledAtRoot = true;
  }
  delegated = join(UNIFIED, `bunc-test-delegated-${process.pid}`);
  leaf = join(delegated, "leaf");
  mkdirSync(delegated);
  mkdirSync(leaf);
  writeFileSync(join(delegated, "cgroup.subtree_control"), "+hugetlb");
  for (const p of ["", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"]) chownSync(join(delegated, p), user.uid, user.gid);
});

afterAll(() => {
  user?.remove();
  if (delegated) removeCgroupTree(delegated);
  if (enabledAtRoot) {
    try {
      writeFileSync(ROOT_SUBTREE, "-hugetlb");
    } catch {} // another test's cgroup uses it now
  }
});

const containerCgroup = (pid: number) => readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").find((l) => l.startsWith("0::"))!.slice(3);

describe("a cgroup2 subtree delegated to the user on a hybrid host", () => {
  test("the container's cgroup goes under it, with its hugetlb limit; delete removes it", () => {
    const size = pageSize();
    const bundle = user.makeBundle((c) => {
      c.process.args = ["sleep", "300"];
      c.linux.resources = { hugepageLimits: [{ pageSize: size, limit: 4 * 1024 * 1024 * 1024 }] };
    });
    const cid = id();
    try {
      const r = user.bunc(["run", "-d", "--bundle", bundle, cid], { cgroup: leaf });
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      const pid = JSON.parse(user.bunc(["state", cid]).stdout).pid as number;
      const path = containerCgroup(pid);
      expect(path).toBe(`/${delegated.slice(UNIFIED.length + 1)}/bunc/${cid}`);
      expect(readFileSync(join(UNIFIED, path, `hugetlb.${size}.max`), "utf8").trim()).toBe(String(4 * 1024 * 1024 * 1024));
      // Made by the user's bunc, so the user's.
      expect(readdirSync(join(delegated, "bunc"), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)).toEqual([cid]);

      const deleted = user.bunc(["delete", "--force", cid]);
      expect(deleted.stderr).toBe("");
      expect(deleted.exitCode).toBe(0);
      expect(existsSync(join(delegated, "bunc"))).toBe(false);
    } finally {
      user.bunc(["delete", "--force", cid]);
    }
  });

  test("limits of controllers the subtree does not offer are skipped with one warning naming them; the rest apply", () => {
    const size = pageSize();
    const bundle = user.makeBundle((c) => {
      c.process.args = ["sh", "-c", `cat /sys/fs/cgroup/unified$(sed -n 's/^0:://p' /proc/self/cgroup)/hugetlb.${size}.max`];
      c.linux.resources = { memory: { limit: 64 << 20 }, pids: { limit: 100 }, hugepageLimits: [{ pageSize: size, limit: 8 * 1024 * 1024 * 1024 }] };
      // Without a cgroup namespace /proc/self/cgroup shows the host's path.
      c.linux.namespaces = c.linux.namespaces.filter((ns: { type: string }) => ns.type !== "cgroup");
    });
    const r = user.bunc(["run", id()], { cwd: bundle, cgroup: leaf });
    expect(r.exitCode).toBe(0);
    const warnings = r.stderr.trim().split("\n");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`linux.resources: the memory, pids limits are skipped, rootless: your delegated cgroup ${delegated} offers only hugetlb`);
    expect(r.stdout.trim()).toBe(String(8 * 1024 * 1024 * 1024));
    expect(existsSync(join(delegated, "bunc"))).toBe(false);
  });

  test("doctor, run inside the subtree, finds it and what it offers; run outside it, says it is not delegated", () => {
    type Finding = { check: string; ok: boolean; detail: string; fix: string };
    const cgroups = (opts: { cgroup?: string }) => (JSON.parse(user.bunc(["doctor", "--format", "json"], opts).stdout) as Finding[]).find((f) => f.check === "cgroups (rootless)")!;
    const inside = cgroups({ cgroup: leaf });
    expect(inside.ok).toBe(true);
    expect(inside.detail).toBe(`cgroup hybrid: the v1 controllers are root's; in the cgroup2 hierarchy at ${UNIFIED}, ${delegated.slice(UNIFIED.length)} is delegated to you: limits of hugetlb apply under it`);
    const outside = cgroups({});
    expect(outside.ok).toBe(false);
    expect(outside.detail).toContain("no part of your cgroup (/) is delegated to you");
    expect(outside.fix).toContain("Delegate=yes");
  });

  test("from outside the subtree nothing is delegated: the resources are skipped with one warning, the container runs", () => {
    const bundle = user.makeBundle((c) => {
      c.process.args = ["true"];
      c.linux.resources = { hugepageLimits: [{ pageSize: pageSize(), limit: 4 * 1024 * 1024 * 1024 }] };
    });
    const r = user.bunc(["run", id()], { cwd: bundle });
    expect(r.exitCode).toBe(0);
    const warnings = r.stderr.trim().split("\n");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("linux.resources: skipped, rootless: this hybrid host's v1 controllers are root's, and no part of your cgroup in its cgroup2 hierarchy (/sys/fs/cgroup/unified) is delegated to you");
  });
});
