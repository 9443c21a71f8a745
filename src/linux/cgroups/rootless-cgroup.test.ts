import { describe, expect, test } from "bun:test";
import { delegatedCgroup, delegatedWrites, delegationRoot, hasResources, rootlessResourcesWarning } from "./rootless-cgroup.ts";

describe("rootless cgroups", () => {
  test("the delegation root is the highest writable ancestor of the caller's cgroup", () => {
    const mine = new Set(["/c/user.slice/user-1000.slice/user@1000.service", "/c/user.slice/user-1000.slice/user@1000.service/app.slice", "/c/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope"]);
    const writable = (dir: string) => mine.has(dir);
    expect(delegationRoot("/c", "/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope", 1000, writable)).toBe("/user.slice/user-1000.slice/user@1000.service");
    expect(delegationRoot("/c", "/system.slice/ssh.service", 1000, writable)).toBeUndefined();
  });
  test("device rules alone ask for no cgroup; any limit does", () => {
    expect(hasResources(undefined)).toBe(false);
    expect(hasResources({ devices: [{ allow: false, access: "rwm" }] })).toBe(false);
    expect(hasResources({ memory: { limit: 1 } })).toBe(true);
  });
  test("the warning says why and what to do", () => {
    const v1 = { mode: "hybrid" as const, v1: new Map(), unifiedControllers: [] };
    expect(rootlessResourcesWarning(v1)).toBe("linux.resources: skipped, rootless: this host has cgroup hybrid, where only root can make cgroups");
    expect(rootlessResourcesWarning({ ...v1, mode: "v2" })).toContain("Delegate=yes");
    const hybrid = rootlessResourcesWarning({ ...v1, unified: "/sys/fs/cgroup/unified" });
    expect(hybrid).toContain("v1 controllers are root's");
    expect(hybrid).toContain("cgroup2 hierarchy (/sys/fs/cgroup/unified)");
  });
  test("on v1 there is nothing to delegate; a hybrid host's cgroup2 mount may be", () => {
    const v1 = { mode: "v1" as const, v1: new Map([["memory", "/sys/fs/cgroup/memory"]]), unifiedControllers: [] };
    expect(delegatedCgroup(v1, undefined, "c1", "/x")).toBeUndefined();
    // The caller's own cgroup in the cgroup2 tree of a hybrid host must exist and be theirs:
    // "/" (the root) never is a delegation.
    expect(delegatedCgroup({ ...v1, mode: "hybrid", unified: "/sys/fs/cgroup/unified", unifiedControllers: ["hugetlb"] }, undefined, "c1", "/")).toBeUndefined();
  });
  test("writes of controllers the delegated subtree does not offer are skipped, named once", () => {
    const writes = [
      { controller: "memory", file: "memory.max", value: "1" },
      { controller: "hugetlb", file: "hugetlb.2MB.max", value: "2097152" },
      { controller: "memory", file: "memory.low", value: "1" },
      { controller: "pids", file: "pids.max", value: "10" },
      { controller: "cgroup", file: "cgroup.max.depth", value: "1" },
    ];
    const r = delegatedWrites("/d", writes, () => "hugetlb\n");
    expect(r.kept.map((w) => w.file)).toEqual(["hugetlb.2MB.max", "cgroup.max.depth"]);
    expect(r.skipped).toEqual(["memory", "pids"]);
    expect(r.offered).toEqual(["hugetlb"]);
  });
});
