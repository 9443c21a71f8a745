import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LinuxResources } from "../../spec/runtime-config.ts";
import { hostHugePageSizes, hugePageSizeName, hugetlbV2File, num, v1DeviceWrites, v1Writes, type V1WriteOptions } from "./v1-writes.ts";

const SIZES = { hugePageSizes: ["2MB", "1GB"] };
// file=value pairs, the controller checked separately where it matters
const files = (r: LinuxResources, opts: V1WriteOptions = {}) => v1Writes(r, { ...SIZES, ...opts }).map((w) => `${w.file}=${w.value}`);
const pids = { limit: 10 };

describe("memory", () => {
  const cases: [string, LinuxResources["memory"], string[]][] = [
    ["limit", { limit: 1 << 20 }, ["memory.limit_in_bytes=1048576"]],
    ["limit -1 also unlimits memory+swap, memsw first", { limit: -1 }, ["memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=-1"]],
    ["limit 0 is unset", { limit: 0 }, []],
    ["reservation", { reservation: 4096 }, ["memory.soft_limit_in_bytes=4096"]],
    ["reservation -1", { reservation: -1 }, ["memory.soft_limit_in_bytes=-1"]],
    ["swap alone", { swap: 8192 }, ["memory.memsw.limit_in_bytes=8192"]],
    ["limit and swap from unlimited: limit first", { limit: 100, swap: 200 }, ["memory.limit_in_bytes=100", "memory.memsw.limit_in_bytes=200"]],
    ["limit and swap equal (no swap)", { limit: 100, swap: 100 }, ["memory.limit_in_bytes=100", "memory.memsw.limit_in_bytes=100"]],
    ["swap -1 goes first", { limit: 100, swap: -1 }, ["memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=100"]],
    ["kernelTCP", { kernelTCP: 65536 }, ["memory.kmem.tcp.limit_in_bytes=65536"]],
    ["kernelTCP -1", { kernelTCP: -1 }, ["memory.kmem.tcp.limit_in_bytes=-1"]],
    ["disableOOMKiller", { disableOOMKiller: true }, ["memory.oom_control=1"]],
    ["disableOOMKiller false", { disableOOMKiller: false }, []],
    ["swappiness", { swappiness: 0 }, ["memory.swappiness=0"]],
    ["swappiness 100", { swappiness: 100 }, ["memory.swappiness=100"]],
    ["useHierarchy", { useHierarchy: true }, ["memory.use_hierarchy=1"]],
    ["useHierarchy false", { useHierarchy: false }, []],
  ];
  test.each(cases)("%s", (_, memory, want) => {
    expect(files({ memory })).toEqual(want);
  });

  test("all fields, in order, controller memory", () => {
    const w = v1Writes({ memory: { limit: 100, swap: 200, reservation: 50, kernelTCP: 10, disableOOMKiller: true, swappiness: 60, useHierarchy: true } });
    expect(w.map((x) => x.file)).toEqual([
      "memory.limit_in_bytes",
      "memory.memsw.limit_in_bytes",
      "memory.soft_limit_in_bytes",
      "memory.kmem.tcp.limit_in_bytes",
      "memory.oom_control",
      "memory.swappiness",
      "memory.use_hierarchy",
    ]);
    expect(new Set(w.map((x) => x.controller))).toEqual(new Set(["memory"]));
  });

  test("raising past the current limit: memsw first", () => {
    const current = (f: string) => (f === "memory.limit_in_bytes" ? "1000\n" : undefined);
    expect(files({ memory: { limit: 2000, swap: 4000 } }, { current })).toEqual(["memory.memsw.limit_in_bytes=4000", "memory.limit_in_bytes=2000"]);
    expect(files({ memory: { limit: 500, swap: 800 } }, { current })).toEqual(["memory.limit_in_bytes=500", "memory.memsw.limit_in_bytes=800"]);
    // the current limit unlimited: limit first
    expect(files({ memory: { limit: 500, swap: 800 } }, { current: () => "9223372036854771712" })).toEqual(["memory.limit_in_bytes=500", "memory.memsw.limit_in_bytes=800"]);
  });

  test("kernel is skipped with a note", () => {
    const notes: string[] = [];
    expect(v1Writes({ memory: { kernel: 1 << 20 } }, { log: (m) => notes.push(m) })).toEqual([]);
    expect(notes).toEqual(["memory.kernel is ignored by current kernels"]);
  });

  test("without swap accounting", () => {
    expect(files({ memory: { limit: -1 } }, { swapAccounting: false })).toEqual(["memory.limit_in_bytes=-1"]);
    expect(() => files({ memory: { limit: 100, swap: 200 } }, { swapAccounting: false })).toThrow("linux.resources.memory.swap: 200: this host does not account swap");
  });

  const errors: [string, LinuxResources["memory"], string][] = [
    ["swappiness over 100", { swappiness: 101 }, "linux.resources.memory.swappiness: 101: must be 0 to 100"],
    ["limit below -1", { limit: -2 }, "linux.resources.memory.limit: -2: must be -1 (unlimited) or a number of bytes"],
    ["swap below -1", { swap: -5 }, "linux.resources.memory.swap: -5:"],
    ["reservation below -1", { reservation: -3 }, "linux.resources.memory.reservation: -3:"],
    ["swap under limit", { limit: 200, swap: 100 }, "linux.resources.memory.swap: 100: memory+swap must be at least memory.limit (200)"],
    ["swap with unlimited memory", { limit: -1, swap: 100 }, "linux.resources.memory.swap: 100: memory+swap cannot be limited while memory.limit is -1"],
  ];
  test.each(errors)("error: %s", (_, memory, message) => {
    expect(() => files({ memory })).toThrow(message);
  });
});

describe("cpu", () => {
  const cases: [string, LinuxResources["cpu"], string[]][] = [
    ["shares", { shares: 1024 }, ["cpu.shares=1024"]],
    ["shares 0 is unset", { shares: 0 }, []],
    ["period before quota", { quota: 50000, period: 100000 }, ["cpu.cfs_period_us=100000", "cpu.cfs_quota_us=50000"]],
    ["quota -1", { quota: -1 }, ["cpu.cfs_quota_us=-1"]],
    ["quota before burst", { quota: 50000, burst: 10000 }, ["cpu.cfs_quota_us=50000", "cpu.cfs_burst_us=10000"]],
    ["burst 0 is written", { burst: 0 }, ["cpu.cfs_burst_us=0"]],
    ["rt period before runtime", { realtimePeriod: 1000000, realtimeRuntime: 950000 }, ["cpu.rt_period_us=1000000", "cpu.rt_runtime_us=950000"]],
    ["rt runtime -1", { realtimeRuntime: -1 }, ["cpu.rt_runtime_us=-1"]],
    ["idle 1 after shares", { shares: 512, idle: 1 }, ["cpu.shares=512", "cpu.idle=1"]],
    ["idle 0 before shares", { shares: 512, idle: 0 }, ["cpu.idle=0", "cpu.shares=512"]],
    ["cpus and mems", { cpus: "0-3,7", mems: "0" }, ["cpuset.cpus=0-3,7", "cpuset.mems=0"]],
    ["empty cpus", { cpus: "" }, []],
  ];
  test.each(cases)("%s", (_, cpu, want) => {
    expect(files({ cpu })).toEqual(want);
  });

  test("controllers: cpu and cpuset; cpuset first", () => {
    const w = v1Writes({ cpu: { shares: 2, cpus: "1", mems: "0" } });
    expect(w.map((x) => `${x.controller}:${x.file}`)).toEqual(["cpuset:cpuset.cpus", "cpuset:cpuset.mems", "cpu:cpu.shares"]);
  });

  test("lowering the burst below the current one: burst first", () => {
    const current = (f: string) => (f === "cpu.cfs_burst_us" ? "20000" : undefined);
    expect(files({ cpu: { quota: 15000, burst: 5000 } }, { current })).toEqual(["cpu.cfs_burst_us=5000", "cpu.cfs_quota_us=15000"]);
    expect(files({ cpu: { quota: 50000, burst: 30000 } }, { current })).toEqual(["cpu.cfs_quota_us=50000", "cpu.cfs_burst_us=30000"]);
  });

  test("rt period below the current runtime: runtime first", () => {
    const current = (f: string) => (f === "cpu.rt_runtime_us" ? "950000" : undefined);
    expect(files({ cpu: { realtimePeriod: 500000, realtimeRuntime: 400000 } }, { current })).toEqual(["cpu.rt_runtime_us=400000", "cpu.rt_period_us=500000"]);
  });

  test.each([1, 262145])("shares %d out of range", (shares) => {
    expect(() => files({ cpu: { shares } })).toThrow(`linux.resources.cpu.shares: ${shares}: must be 2 to 262144`);
  });
});

describe("pids", () => {
  test.each([
    [100, "100"],
    [0, "0"],
    [-1, "max"],
    [-5, "max"],
  ])("limit %d → %s", (limit, value) => {
    expect(v1Writes({ pids: { limit } })).toEqual([{ controller: "pids", file: "pids.max", value }]);
  });
});

describe("blkio", () => {
  const dev = (major: number, minor: number, rate?: number) => ({ major, minor, rate });
  const cases: [string, LinuxResources["blockIO"], string[]][] = [
    ["weight", { weight: 500 }, ["blkio.weight=500"]],
    ["leafWeight", { leafWeight: 300 }, ["blkio.leaf_weight=300"]],
    [
      "weightDevice",
      { weightDevice: [{ major: 8, minor: 0, weight: 600, leafWeight: 200 }, { major: 8, minor: 16, weight: 100 }] },
      ["blkio.weight_device=8:0 600", "blkio.leaf_weight_device=8:0 200", "blkio.weight_device=8:16 100"],
    ],
    [
      "throttles",
      {
        throttleReadBpsDevice: [dev(8, 0, 1048576)],
        throttleWriteBpsDevice: [dev(8, 0, 2097152)],
        throttleReadIOPSDevice: [dev(8, 16, 100)],
        throttleWriteIOPSDevice: [dev(8, 16, 0)],
      },
      ["blkio.throttle.read_bps_device=8:0 1048576", "blkio.throttle.write_bps_device=8:0 2097152", "blkio.throttle.read_iops_device=8:16 100", "blkio.throttle.write_iops_device=8:16 0"],
    ],
  ];
  test.each(cases)("%s", (_, blockIO, want) => {
    expect(files({ blockIO })).toEqual(want);
    expect(v1Writes({ blockIO }).every((w) => w.controller === "blkio")).toBe(true);
  });

  test("bfq files", () => {
    expect(files({ blockIO: { weight: 5, weightDevice: [{ major: 8, minor: 0, weight: 50 }] } }, { bfq: true })).toEqual([
      "blkio.bfq.weight=5",
      "blkio.bfq.weight_device=8:0 50",
    ]);
  });

  test.each([
    [{ weight: 5 }, "linux.resources.blockIO.weight: 5: must be 10 to 1000"],
    [{ leafWeight: 1001 }, "linux.resources.blockIO.leafWeight: 1001: must be 10 to 1000"],
    [{ weightDevice: [{ major: 8, minor: 0, weight: 2000 }] }, "linux.resources.blockIO.weightDevice[0].weight: 2000:"],
    [{ throttleReadBpsDevice: [{ major: -1, minor: 0, rate: 1 }] }, "linux.resources.blockIO.throttleReadBpsDevice[0].major: -1: must be a device number"],
  ] as [LinuxResources["blockIO"], string][])("error %#", (blockIO, message) => {
    expect(() => files({ blockIO })).toThrow(message);
  });
});

describe("hugetlb", () => {
  const hugepageLimits = [
    { pageSize: "2MB", limit: 209715200 },
    { pageSize: "1GB", limit: 1073741824 },
  ];
  test("v1 names, controller hugetlb", () => {
    expect(v1Writes({ hugepageLimits }, SIZES)).toEqual([
      { controller: "hugetlb", file: "hugetlb.2MB.limit_in_bytes", value: "209715200" },
      { controller: "hugetlb", file: "hugetlb.1GB.limit_in_bytes", value: "1073741824" },
    ]);
  });
  test("on the cgroup2 tree (hybrid)", () => {
    expect(files({ hugepageLimits }, { hugetlbOnV2: true })).toEqual(["hugetlb.2MB.max=209715200", "hugetlb.1GB.max=1073741824"]);
    expect(hugetlbV2File("64KB")).toBe("hugetlb.64KB.max");
  });
  test("reservation limits too where the kernel has them", () => {
    expect(files({ hugepageLimits: [hugepageLimits[0]!] }, { hugetlbRsvd: true })).toEqual(["hugetlb.2MB.limit_in_bytes=209715200", "hugetlb.2MB.rsvd.limit_in_bytes=209715200"]);
    expect(files({ hugepageLimits: [hugepageLimits[0]!] }, { hugetlbRsvd: true, hugetlbOnV2: true })).toEqual(["hugetlb.2MB.max=209715200", "hugetlb.2MB.rsvd.max=209715200"]);
  });
  test("an unknown page size names the entry and the value", () => {
    expect(() => files({ hugepageLimits: [hugepageLimits[0]!, { pageSize: "4MB", limit: 1 }] })).toThrow(
      'linux.resources.hugepageLimits[1].pageSize: "4MB": not a huge page size of this host (this host has 2MB, 1GB)',
    );
    expect(() => v1Writes({ hugepageLimits }, { hugePageSizes: [] })).toThrow("this host has no huge pages");
  });
  test("page size names, from kB", () => {
    expect([64, 512, 2048, 32768, 524288, 1048576, 16777216].map(hugePageSizeName)).toEqual(["64KB", "512KB", "2MB", "32MB", "512MB", "1GB", "16GB"]);
  });
  test("the host's sizes from sysfs-like directory names", () => {
    const dir = mkdtempSync(join(tmpdir(), "bunc-hugepages-"));
    try {
      for (const d of ["hugepages-2048kB", "hugepages-1048576kB", "other"]) mkdirSync(join(dir, d));
      expect(hostHugePageSizes(dir).sort()).toEqual(["1GB", "2MB"]);
      expect(hostHugePageSizes(join(dir, "missing"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
  test("sizes are read only when there are limits", () => {
    expect(v1Writes({ hugepageLimits: [] }, { hugePageSizes: undefined })).toEqual([]);
  });
});

describe("network", () => {
  test("classID and priorities", () => {
    expect(v1Writes({ network: { classID: 1048577, priorities: [{ name: "eth0", priority: 500 }, { name: "lo", priority: 1000 }] } })).toEqual([
      { controller: "net_cls", file: "net_cls.classid", value: "1048577" },
      { controller: "net_prio", file: "net_prio.ifpriomap", value: "eth0 500" },
      { controller: "net_prio", file: "net_prio.ifpriomap", value: "lo 1000" },
    ]);
  });
  test("an interface name with a space", () => {
    expect(() => v1Writes({ network: { priorities: [{ name: "eth0 9", priority: 1 }] } })).toThrow('linux.resources.network.priorities[0].name: "eth0 9": not an interface name');
  });
});

describe("rdma", () => {
  test("one write per device", () => {
    expect(v1Writes({ rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 }, mlx4_0: { hcaObjects: 1000 }, none: {} } })).toEqual([
      { controller: "rdma", file: "rdma.max", value: "mlx5_1 hca_handle=3 hca_object=10000" },
      { controller: "rdma", file: "rdma.max", value: "mlx4_0 hca_object=1000" },
    ]);
  });
});

test("unified needs cgroup v2", () => {
  expect(() => v1Writes({ unified: { "memory.high": "1G" } })).toThrow("linux.resources.unified: memory.high: needs cgroup v2");
  expect(v1Writes({ unified: {} })).toEqual([]);
});

test("devices are not part of v1Writes", () => {
  expect(v1Writes({ devices: [{ allow: false, access: "rwm" }] })).toEqual([]);
});

test("controller order: cpuset, memory, cpu, pids, blkio, hugetlb, net_cls, net_prio, rdma", () => {
  const w = v1Writes(
    {
      rdma: { d: { hcaHandles: 1 } },
      network: { classID: 1, priorities: [{ name: "lo", priority: 1 }] },
      hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
      blockIO: { weight: 100 },
      pids,
      cpu: { shares: 100, cpus: "0" },
      memory: { limit: 1 },
    },
    SIZES,
  );
  expect(w.map((x) => x.controller)).toEqual(["cpuset", "memory", "cpu", "pids", "blkio", "hugetlb", "net_cls", "net_prio", "rdma"]);
});

test("numbers in full digits, the largest uint64 kept in range", () => {
  expect(num(9007199254740993)).toBe("9007199254740992");
  expect(num(2 ** 63)).toBe("9223372036854775808");
  expect(num(2 ** 64)).toBe("18446744073709551615");
  expect(files({ hugepageLimits: [{ pageSize: "2MB", limit: 2 ** 64 }] })).toEqual(["hugetlb.2MB.limit_in_bytes=18446744073709551615"]);
});

describe("v1DeviceWrites", () => {
  test("starts from deny-all, then the rules in order", () => {
    const w = v1DeviceWrites([
      { allow: false, type: "a", major: -1, minor: -1, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
      { allow: true, type: "c", major: 136, minor: -1, access: "rwm" },
      { allow: false, type: "b", major: 8, minor: 0, access: "w" },
    ]);
    expect(w).toEqual([
      { controller: "devices", file: "devices.deny", value: "a *:* rwm" },
      { controller: "devices", file: "devices.allow", value: "c 1:3 rwm" },
      { controller: "devices", file: "devices.allow", value: "c 136:* rwm" },
      { controller: "devices", file: "devices.deny", value: "b 8:0 w" },
    ]);
  });
  test("without a leading deny-all the inherited access is dropped anyway; allow-all stays allow-all", () => {
    expect(v1DeviceWrites([{ allow: true, type: "a", major: -1, minor: -1, access: "rwm" }]).map((w) => `${w.file} ${w.value}`)).toEqual([
      "devices.deny a *:* rwm",
      "devices.allow a *:* rwm",
    ]);
  });
  test("a deny-all after an allow is kept", () => {
    const w = v1DeviceWrites([
      { allow: true, type: "c", major: 1, minor: 3, access: "r" },
      { allow: false, type: "a", access: "rwm" },
    ]);
    expect(w.map((x) => `${x.file} ${x.value}`)).toEqual(["devices.deny a *:* rwm", "devices.allow c 1:3 r", "devices.deny a *:* rwm"]);
  });
});
