import { describe, expect, test } from "bun:test";
import { delegationRoot, hasResources, rootlessResourcesWarning } from "./rootless-cgroup.ts";

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
  });
});
