import { expect, test } from "bun:test";
import { parseCgroupMounts } from "./detect.ts";

test("hybrid: v1 controllers with their mount points, and the cgroup2 mount", () => {
  const text = [
    "25 24 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755",
    "26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate",
    "27 25 0:24 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw,xattr,name=systemd",
    "30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw shared:14 - cgroup cgroup rw,cpu,cpuacct",
    "31 25 0:28 / /sys/fs/cgroup/memory rw shared:15 - cgroup cgroup rw,memory",
  ].join("\n");
  const { v1, unified } = parseCgroupMounts(text);
  expect(unified).toBe("/sys/fs/cgroup/unified");
  expect(v1.get("cpu")).toBe("/sys/fs/cgroup/cpu,cpuacct");
  expect(v1.get("cpuacct")).toBe("/sys/fs/cgroup/cpu,cpuacct");
  expect(v1.get("memory")).toBe("/sys/fs/cgroup/memory");
  expect(v1.get("name=systemd")).toBe("/sys/fs/cgroup/systemd");
});

test("pure v2", () => {
  const { v1, unified } = parseCgroupMounts("25 24 0:22 / /sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw,nsdelegate");
  expect(v1.size).toBe(0);
  expect(unified).toBe("/sys/fs/cgroup");
});
