import { describe, expect, test } from "bun:test";
import type { LinuxResources } from "../../spec/runtime-config.ts";
import { blkioToIoWeight, sharesToWeight, swapMaxValue, v2Writes, type WriteOptions } from "./v2-writes.ts";

const SIZES = { hugePageSizes: ["2MB", "1GB"] };
const files = (r: LinuxResources, opts: WriteOptions = {}) => v2Writes(r, { ...SIZES, ...opts }).map((w) => `${w.file}=${w.value}`);

describe("conversions", () => {
  test.each([
    [0, 0],
    [1, 1],
    [2, 1],
    [3, 2],
    [512, 59],
    [1024, 100],
    [2048, 174],
    [262143, 10000],
    [262144, 10000],
    [262145, 10000],
  ])("shares %d → weight %d", (shares, weight) => {
    expect(sharesToWeight(shares)).toBe(weight);
  });

  test.each([
    [0, 0],
    [10, 1],
    [100, 910],
    [500, 4950],
    [1000, 10000],
  ])("blkio weight %d → io weight %d", (w, io) => {
    expect(blkioToIoWeight(w)).toBe(io);
  });

  // [swap (memory+swap), limit, memory.swap.max]
  test.each([
    [0, 0, undefined],
    [-1, 0, "max"],
    [0, -1, "max"],
    [-1, -1, "max"],
    [-1, 1000, "max"],
    [300, -1, "300"],
    [1000, 1000, "0"],
    [500, 200, "300"],
    [0, 1000, undefined],
  ] as [number, number, string | undefined][])("swap %d with limit %d → %s", (swap, limit, want) => {
    expect(swapMaxValue(swap, limit)).toBe(want);
  });

  test.each([
    [300, 400, "linux.resources.memory.swap: 300: memory+swap must be at least memory.limit (400)"],
    [300, 0, "linux.resources.memory.swap: 300: cgroup v2 limits swap apart from memory: memory.limit must be set too"],
  ])("swap %d with limit %d is an error", (swap, limit, message) => {
    expect(() => swapMaxValue(swap, limit)).toThrow(message);
  });
});

describe("memory", () => {
  const cases: [string, LinuxResources["memory"], string[]][] = [
    ["limit", { limit: 1 << 20 }, ["memory.max=1048576"]],
    ["limit -1: swap unlimited too", { limit: -1 }, ["memory.swap.max=max", "memory.max=max"]],
    ["limit 0 is unset", { limit: 0 }, []],
    ["reservation", { reservation: 4096 }, ["memory.low=4096"]],
    ["reservation -1", { reservation: -1 }, ["memory.low=max"]],
    ["limit and memory+swap", { limit: 100, swap: 300 }, ["memory.swap.max=200", "memory.max=100"]],
    ["swap == limit: no swap", { limit: 100, swap: 100 }, ["memory.swap.max=0", "memory.max=100"]],
    ["swap -1", { limit: 100, swap: -1 }, ["memory.swap.max=max", "memory.max=100"]],
    ["swap with unlimited memory", { limit: -1, swap: 300 }, ["memory.swap.max=300", "memory.max=max"]],
  ];
  test.each(cases)("%s", (_, memory, want) => {
    expect(files({ memory })).toEqual(want);
    expect(v2Writes({ memory }).every((w) => w.controller === "memory")).toBe(true);
  });

  test("v1-only fields are skipped with notes", () => {
    const notes: string[] = [];
    const w = v2Writes({ memory: { kernel: 1, kernelTCP: 1, swappiness: 10, disableOOMKiller: true, useHierarchy: false } }, { log: (m) => notes.push(m) });
    expect(w).toEqual([]);
    expect(notes).toHaveLength(5);
    expect(notes[0]).toBe("memory.kernel is ignored by current kernels");
    expect(notes.join("\n")).toContain("memory.swappiness");
    expect(notes.join("\n")).toContain("memory.disableOOMKiller");
  });

  test("without swap accounting", () => {
    const notes: string[] = [];
    expect(files({ memory: { limit: -1 } }, { swapAccounting: false, log: (m) => notes.push(m) })).toEqual(["memory.max=max"]);
    expect(files({ memory: { limit: 100, swap: 100 } }, { swapAccounting: false })).toEqual(["memory.max=100"]);
    expect(notes).toHaveLength(1);
    expect(() => files({ memory: { limit: 100, swap: 200 } }, { swapAccounting: false })).toThrow("linux.resources.memory.swap: 200: this host does not account swap");
  });

  test.each([
    [{ swap: 100 }, "linux.resources.memory.swap: 100: cgroup v2 limits swap apart from memory"],
    [{ limit: 200, swap: 100 }, "linux.resources.memory.swap: 100: memory+swap must be at least memory.limit (200)"],
    [{ limit: -2 }, "linux.resources.memory.limit: -2: must be -1 (unlimited) or a number of bytes"],
    [{ reservation: -7 }, "linux.resources.memory.reservation: -7:"],
  ] as [LinuxResources["memory"], string][])("error %#", (memory, message) => {
    expect(() => files({ memory })).toThrow(message);
  });
});

describe("cpu", () => {
  const cases: [string, LinuxResources["cpu"], string[]][] = [
    ["shares → weight", { shares: 1024 }, ["cpu.weight=100"]],
    ["shares 2 → 1", { shares: 2 }, ["cpu.weight=1"]],
    ["shares 0 is unset", { shares: 0 }, []],
    ["quota and period", { quota: 50000, period: 100000 }, ["cpu.max=50000 100000"]],
    ["quota alone keeps the period", { quota: 50000 }, ["cpu.max=50000"]],
    ["quota -1", { quota: -1 }, ["cpu.max=max"]],
    ["quota -1 with period", { quota: -1, period: 250000 }, ["cpu.max=max 250000"]],
    ["period alone, current quota unknown", { period: 200000 }, ["cpu.max=max 200000"]],
    ["burst after cpu.max", { quota: 50000, period: 100000, burst: 20000 }, ["cpu.max=50000 100000", "cpu.max.burst=20000"]],
    ["burst alone", { burst: 0 }, ["cpu.max.burst=0"]],
    ["idle 1 after the weight", { shares: 1024, idle: 1 }, ["cpu.weight=100", "cpu.idle=1"]],
    ["idle 0 before the weight", { shares: 1024, idle: 0 }, ["cpu.idle=0", "cpu.weight=100"]],
    ["realtime 0 is unset", { realtimePeriod: 0, realtimeRuntime: 0 }, []],
    ["cpus and mems", { cpus: "0-1", mems: "0" }, ["cpuset.cpus=0-1", "cpuset.mems=0"]],
  ];
  test.each(cases)("%s", (_, cpu, want) => {
    expect(files({ cpu })).toEqual(want);
  });

  test("controllers: cpu, then cpuset", () => {
    expect(v2Writes({ cpu: { shares: 100, cpus: "1" } }).map((w) => w.controller)).toEqual(["cpu", "cpuset"]);
  });

  test("period alone keeps the current quota", () => {
    const current = (f: string) => (f === "cpu.max" ? "30000 100000\n" : undefined);
    expect(files({ cpu: { period: 50000 } }, { current })).toEqual(["cpu.max=30000 50000"]);
    expect(files({ cpu: { period: 50000 } }, { current: () => "max 100000" })).toEqual(["cpu.max=max 50000"]);
  });

  test("lowering the burst: burst first", () => {
    const current = (f: string) => (f === "cpu.max.burst" ? "40000" : undefined);
    expect(files({ cpu: { quota: 30000, burst: 10000 } }, { current })).toEqual(["cpu.max.burst=10000", "cpu.max=30000"]);
    expect(files({ cpu: { quota: 90000, burst: 60000 } }, { current })).toEqual(["cpu.max=90000", "cpu.max.burst=60000"]);
  });

  test.each([
    [{ realtimePeriod: 1000000 }, "linux.resources.cpu.realtimePeriod: 1000000: needs cgroup v1"],
    [{ realtimeRuntime: 950000 }, "linux.resources.cpu.realtimeRuntime: 950000: needs cgroup v1"],
  ] as [LinuxResources["cpu"], string][])("error %#", (cpu, message) => {
    expect(() => files({ cpu })).toThrow(message);
  });
});

test.each([
  [100, "100"],
  [0, "0"],
  [-1, "max"],
])("pids.limit %d → pids.max %s", (limit, value) => {
  expect(v2Writes({ pids: { limit } })).toEqual([{ controller: "pids", file: "pids.max", value }]);
});

describe("io", () => {
  test("weight, device weights, throttles", () => {
    const w = v2Writes({
      blockIO: {
        weight: 500,
        weightDevice: [{ major: 8, minor: 0, weight: 1000 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2097152 }],
        throttleReadIOPSDevice: [{ major: 8, minor: 16, rate: 100 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 0 }],
      },
    });
    expect(w.map((x) => `${x.file}=${x.value}`)).toEqual([
      "io.weight=default 4950",
      "io.weight=8:0 10000",
      "io.max=8:0 rbps=1048576",
      "io.max=8:0 wbps=2097152",
      "io.max=8:16 riops=100",
      "io.max=8:16 wiops=max",
    ]);
    expect(w.every((x) => x.controller === "io")).toBe(true);
  });

  test("bfq takes blkio weights as they are", () => {
    expect(files({ blockIO: { weight: 5, weightDevice: [{ major: 8, minor: 0, weight: 50 }] } }, { bfq: true })).toEqual(["io.bfq.weight=5", "io.bfq.weight=8:0 50"]);
  });

  test("leaf weights are skipped with notes", () => {
    const notes: string[] = [];
    expect(v2Writes({ blockIO: { leafWeight: 100, weightDevice: [{ major: 8, minor: 0, leafWeight: 100 }] } }, { log: (m) => notes.push(m) })).toEqual([]);
    expect(notes).toEqual(["blockIO.leafWeight is ignored on cgroup v2", "blockIO.weightDevice[0].leafWeight is ignored on cgroup v2"]);
  });

  test.each([
    [{ weight: 9 }, "linux.resources.blockIO.weight: 9: must be 10 to 1000"],
    [{ weightDevice: [{ major: 8, minor: 0, weight: 1001 }] }, "linux.resources.blockIO.weightDevice[0].weight: 1001: must be 10 to 1000"],
    [{ throttleWriteIOPSDevice: [{ major: 8, minor: -1, rate: 1 }] }, "linux.resources.blockIO.throttleWriteIOPSDevice[0].minor: -1: must be a device number"],
  ] as [LinuxResources["blockIO"], string][])("error %#", (blockIO, message) => {
    expect(() => files({ blockIO })).toThrow(message);
  });
});

describe("hugetlb", () => {
  test("hugetlb.<size>.max", () => {
    expect(v2Writes({ hugepageLimits: [{ pageSize: "1GB", limit: 1073741824 }] }, SIZES)).toEqual([{ controller: "hugetlb", file: "hugetlb.1GB.max", value: "1073741824" }]);
    expect(files({ hugepageLimits: [{ pageSize: "2MB", limit: 0 }] }, { hugetlbRsvd: true })).toEqual(["hugetlb.2MB.max=0", "hugetlb.2MB.rsvd.max=0"]);
  });
  test("an unknown page size", () => {
    expect(() => files({ hugepageLimits: [{ pageSize: "2M", limit: 1 }] })).toThrow('linux.resources.hugepageLimits[0].pageSize: "2M": not a huge page size of this host');
  });
});

describe("network", () => {
  test("classID needs v1", () => {
    expect(() => v2Writes({ network: { classID: 1048577 } })).toThrow("linux.resources.network.classID: 1048577: net_cls needs cgroup v1");
  });
  test("priorities need v1", () => {
    expect(() => v2Writes({ network: { priorities: [{ name: "eth0", priority: 1 }] } })).toThrow("linux.resources.network.priorities:");
  });
  test("empty is fine", () => {
    expect(v2Writes({ network: { classID: 0, priorities: [] } })).toEqual([]);
  });
});

test("rdma", () => {
  expect(v2Writes({ rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } } })).toEqual([{ controller: "rdma", file: "rdma.max", value: "mlx5_1 hca_handle=3 hca_object=10000" }]);
});

describe("unified", () => {
  test("each key its file, controller before the first dot, after the typed fields", () => {
    const w = v2Writes({ memory: { limit: 100 }, unified: { "memory.max": "200", "io.weight": "default 300", "cgroup.freeze": "0", "memory.oom.group": "1" } });
    expect(w).toEqual([
      { controller: "memory", file: "memory.max", value: "100" },
      { controller: "memory", file: "memory.max", value: "200" },
      { controller: "io", file: "io.weight", value: "default 300" },
      { controller: "cgroup", file: "cgroup.freeze", value: "0" },
      { controller: "memory", file: "memory.oom.group", value: "1" },
    ]);
  });
  test("several lines: one write each", () => {
    expect(files({ unified: { "io.max": "8:0 rbps=1\n8:16 wbps=2\n" } })).toEqual(["io.max=8:0 rbps=1", "io.max=8:16 wbps=2"]);
  });
  test("values as they are", () => {
    expect(files({ unified: { "memory.high": " 1G " } })).toEqual(["memory.high= 1G "]);
  });
  test.each(["../memory.max", "a/memory.max", "..", "memory", ".max", "memory.", "memory..max"])("key %p is refused", (key) => {
    expect(() => v2Writes({ unified: { [key]: "1" } })).toThrow(`linux.resources.unified[${JSON.stringify(key)}]: must be a file name`);
  });
});

test("controller order: pids, memory, io, cpu, cpuset, hugetlb, rdma", () => {
  const w = v2Writes(
    {
      rdma: { d: { hcaHandles: 1 } },
      hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
      cpu: { shares: 100, cpus: "0" },
      blockIO: { weight: 100 },
      memory: { limit: 1 },
      pids: { limit: 1 },
    },
    SIZES,
  );
  expect(w.map((x) => x.controller)).toEqual(["pids", "memory", "io", "cpu", "cpuset", "hugetlb", "rdma"]);
});
