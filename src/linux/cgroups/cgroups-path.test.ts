import { expect, test } from "bun:test";
import { cgroupPath, ownCgroups } from "./cgroups-path.ts";

test("default, absolute and relative paths", () => {
  expect(cgroupPath(undefined, "c1", "/user.slice")).toBe("/bunc/c1");
  expect(cgroupPath("/a/b", "c1", "/user.slice")).toBe("/a/b");
  expect(cgroupPath("a/b", "c1", "/user.slice")).toBe("/user.slice/a/b");
  expect(cgroupPath("a/../b", "c1", "/")).toBe("/b");
});

test("paths cannot climb out of the hierarchy, nor name its root", () => {
  expect(cgroupPath("/../x", "c1", "/")).toBe("/x");
  expect(cgroupPath("../../x", "c1", "/a")).toBe("/x");
  expect(() => cgroupPath("/", "c1", "/")).toThrow(/root cgroup/);
  expect(() => cgroupPath("a/..", "c1", "/")).toThrow(/root cgroup/);
});

test("the caller's cgroups, per controller", () => {
  const own = ownCgroups("4:memory:/process_api/x\n2:cpu,cpuacct:/\n0::/user.slice\n");
  expect(own.get("memory")).toBe("/process_api/x");
  expect(own.get("cpuacct")).toBe("/");
  expect(own.get("")).toBe("/user.slice");
});
