// readStats over fake cgroupfs trees (plain files in a temp dir) laid out as v1, hybrid and
// v2 hosts have them, with the kernel's formats; and the JSON as runc's events prints it.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CgroupRecord } from "./cgroup.ts";
import { keyValues, oomKillCount, parseBlkioFile, parseCpuList, parseIoStat, parsePsi, parseU64, readStats, toJson, U64_MAX } from "./stats.ts";

const base = mkdtempSync(join(tmpdir(), "bunc-stats-test-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
/** A directory holding `files` (name → content). */
function tree(files: Record<string, string>): string {
  const dir = join(base, `t${++n}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const V1_UNLIMITED = "9223372036854771712";

function v1Tree() {
  const cpuacct = tree({
    "cpuacct.usage": "5000000000\n",
    "cpuacct.usage_percpu": "3000000000 2000000000 \n",
    "cpuacct.usage_all": "cpu user system\n0 2000000000 1000000000\n1 1500000000 500000000\n",
    "cpuacct.usage_user": "3500000000\n",
    "cpuacct.usage_sys": "1500000000\n",
    "cpuacct.stat": "user 350\nsystem 150\n",
  });
  const cpu = tree({ "cpu.stat": "nr_periods 10\nnr_throttled 3\nthrottled_time 123456\nnr_bursts 0\nburst_time 0\n" });
  const cpuset = tree({
    "cpuset.cpus": "0-2,5\n",
    "cpuset.mems": "0\n",
    "cpuset.cpu_exclusive": "0\n",
    "cpuset.mem_hardwall": "0\n",
    "cpuset.mem_exclusive": "0\n",
    "cpuset.memory_migrate": "0\n",
    "cpuset.memory_spread_page": "0\n",
    "cpuset.memory_spread_slab": "0\n",
    "cpuset.memory_pressure": "0\n",
    "cpuset.sched_load_balance": "1\n",
    "cpuset.sched_relax_domain_level": "-1\n",
  });
  const memory = tree({
    "memory.stat": `cache 4096\nrss 8192\nhierarchical_memory_limit ${V1_UNLIMITED}\ntotal_cache 4096\n`,
    "memory.usage_in_bytes": "12288\n",
    "memory.max_usage_in_bytes": "65536\n",
    "memory.limit_in_bytes": "33554432\n",
    "memory.failcnt": "7\n",
    "memory.memsw.usage_in_bytes": "12288\n",
    "memory.memsw.max_usage_in_bytes": "65536\n",
    "memory.memsw.limit_in_bytes": `${V1_UNLIMITED}\n`,
    "memory.memsw.failcnt": "0\n",
    // kmem.tcp is missing here: skipped.
    "memory.kmem.usage_in_bytes": "1024\n",
    "memory.kmem.max_usage_in_bytes": "2048\n",
    "memory.kmem.limit_in_bytes": `${V1_UNLIMITED}\n`,
    "memory.kmem.failcnt": "0\n",
    "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
  });
  const pids = tree({ "pids.current": "3\n", "pids.max": "max\n" });
  const blkio = tree({
    "blkio.throttle.io_service_bytes_recursive": "8:0 Read 1024\n8:0 Write 2048\n8:0 Sync 0\n8:0 Async 3072\n8:0 Total 3072\nTotal 3072\n",
    "blkio.throttle.io_serviced_recursive": "8:0 Read 1\n8:0 Write 2\nTotal 3\n",
    "blkio.throttle.io_service_bytes": "8:0 Read 1\nTotal 1\n",
  });
  const hugetlb = tree({
    "hugetlb.2MB.usage_in_bytes": "4194304\n",
    "hugetlb.2MB.max_usage_in_bytes": "6291456\n",
    "hugetlb.2MB.failcnt": "1\n",
    "hugetlb.2MB.limit_in_bytes": `${V1_UNLIMITED}\n`,
    "hugetlb.1GB.usage_in_bytes": "0\n",
    "hugetlb.1GB.max_usage_in_bytes": "0\n",
    "hugetlb.1GB.failcnt": "0\n",
    "hugetlb.2MB.rsvd.usage_in_bytes": "0\n",
  });
  return { cpuacct, cpu, cpuset, memory, pids, blkio, hugetlb };
}

const v1Record = (dirs: Record<string, string>): CgroupRecord => ({ version: "v1", path: "/bunc/x", dirs, created: [] });

describe("cgroup v1", () => {
  test("every controller's numbers", () => {
    const dirs = v1Tree();
    const s = readStats(v1Record(dirs));
    expect(s.cpu).toEqual({
      usage: {
        total: 5000000000n,
        percpu: [3000000000n, 2000000000n],
        percpu_kernel: [1000000000n, 500000000n],
        percpu_user: [2000000000n, 1500000000n],
        kernel: 1500000000n,
        user: 3500000000n,
      },
      throttling: { periods: 10n, throttledPeriods: 3n, throttledTime: 123456n },
    });
    expect(s.cpuset.cpus).toEqual([0, 1, 2, 5]);
    expect(s.cpuset.mems).toEqual([0]);
    expect(s.cpuset.sched_load_balance).toBe(1n);
    expect(s.cpuset.sched_relax_domain_level).toBe(-1n);
    expect(s.memory.cache).toBe(4096n);
    expect(s.memory.usage).toEqual({ limit: 33554432n, usage: 12288n, max: 65536n, failcnt: 7n });
    expect(s.memory.swap).toEqual({ limit: 9223372036854771712n, usage: 12288n, max: 65536n, failcnt: 0n });
    expect(s.memory.kernel).toEqual({ limit: 9223372036854771712n, usage: 1024n, max: 2048n, failcnt: 0n });
    expect(s.memory.kernelTCP).toEqual({ limit: 0n, failcnt: 0n });
    expect(s.memory.raw).toEqual({ cache: 4096n, rss: 8192n, hierarchical_memory_limit: 9223372036854771712n, total_cache: 4096n });
    // "max" is no limit: left out, as runc does.
    expect(s.pids).toEqual({ current: 3n });
    expect(s.blkio).toEqual({
      ioServiceBytesRecursive: [
        { major: 8n, op: "Read", value: 1024n },
        { major: 8n, op: "Write", value: 2048n },
        { major: 8n, op: "Sync" },
        { major: 8n, op: "Async", value: 3072n },
        { major: 8n, op: "Total", value: 3072n },
      ],
      ioServicedRecursive: [
        { major: 8n, op: "Read", value: 1n },
        { major: 8n, op: "Write", value: 2n },
      ],
    });
    expect(s.hugetlb).toEqual({ "2MB": { usage: 4194304n, max: 6291456n, failcnt: 1n }, "1GB": { failcnt: 0n } });
    expect(s.intel_rdt).toEqual({});
    expect(oomKillCount(v1Record(dirs))).toBe(2n);
  });

  test("cpuacct.stat ticks when the nanosecond split is missing", () => {
    const cpuacct = tree({ "cpuacct.usage": "7\n", "cpuacct.stat": "user 350\nsystem 150\n" });
    const s = readStats(v1Record({ cpuacct }));
    expect(s.cpu.usage).toEqual({ total: 7n, kernel: 1500000000n, user: 3500000000n });
  });

  test("BFQ files win over the throttle layer", () => {
    const blkio = tree({
      "blkio.bfq.io_service_bytes_recursive": "8:16 Read 4096\nTotal 4096\n",
      "blkio.bfq.io_serviced_recursive": "8:16 Read 1\nTotal 1\n",
      "blkio.throttle.io_service_bytes_recursive": "8:0 Read 1\nTotal 1\n",
      "blkio.throttle.io_serviced_recursive": "8:0 Read 1\nTotal 1\n",
    });
    const s = readStats(v1Record({ blkio }));
    expect(s.blkio.ioServiceBytesRecursive).toEqual([{ major: 8n, minor: 16n, op: "Read", value: 4096n }]);
  });

  test("pids.max as a number is the limit", () => {
    const pids = tree({ "pids.current": "1\n", "pids.max": "64\n" });
    expect(readStats(v1Record({ pids })).pids).toEqual({ current: 1n, limit: 64n });
  });

  test("hybrid host: hugetlb from the cgroup2 directory", () => {
    const unified = tree({ "hugetlb.2MB.current": "2097152\n", "hugetlb.2MB.max": "max\n", "hugetlb.2MB.events": "max 4\n" });
    expect(readStats(v1Record({ unified })).hugetlb).toEqual({ "2MB": { usage: 2097152n, failcnt: 4n } });
  });

  test("missing directories and files: zeros, not errors", () => {
    const empty = tree({});
    const gone = join(base, "no-such-dir");
    const layouts: Record<string, string>[] = [{}, { cpuacct: empty, cpu: empty, memory: empty, pids: empty, blkio: empty, cpuset: empty, hugetlb: empty }, { memory: gone, cpuacct: gone }];
    for (const dirs of layouts) {
      const s = readStats(v1Record(dirs));
      expect(s.cpu).toEqual({ usage: { kernel: 0n, user: 0n }, throttling: {} });
      expect(s.memory).toEqual({ usage: { limit: 0n, failcnt: 0n }, swap: { limit: 0n, failcnt: 0n }, kernel: { limit: 0n, failcnt: 0n }, kernelTCP: { limit: 0n, failcnt: 0n } });
      expect(s.pids).toEqual({});
      expect(s.blkio).toEqual({});
      expect(s.hugetlb).toEqual({});
      expect(oomKillCount(v1Record(dirs))).toBeUndefined();
    }
  });

  test("garbage in a file is skipped, the rest still read", () => {
    const memory = tree({ "memory.stat": "cache x\nrss 5\nbroken\n", "memory.usage_in_bytes": "oops\n", "memory.limit_in_bytes": "100\n" });
    const s = readStats(v1Record({ memory }));
    expect(s.memory.raw).toEqual({ rss: 5n });
    expect(s.memory.usage).toEqual({ limit: 100n, failcnt: 0n });
  });
});

function v2Tree(extra: Record<string, string> = {}) {
  return tree({
    "cpu.stat": "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 7\nnr_bursts 0\nburst_usec 0\n",
    "cpu.pressure": "some avg10=1.50 avg60=0.25 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=99\n",
    "cpuset.cpus.effective": "0-1\n",
    "cpuset.mems.effective": "0\n",
    "memory.current": "3145728\n",
    "memory.max": "33554432\n",
    "memory.peak": "4194304\n",
    "memory.events": "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n",
    "memory.stat": "anon 1048576\nfile 2097152\nkernel 4096\n",
    "memory.swap.current": "1000\n",
    "memory.swap.max": "max\n",
    "memory.swap.events": "high 0\nmax 0\nfail 0\n",
    "pids.current": "2\n",
    "pids.max": "100\n",
    "io.stat": "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n253:1 rbytes=0 wbytes=512 rios=0 wios=1 dbytes=0 dios=0\n",
    "io.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=5\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=3\n",
    "hugetlb.2MB.current": "0\n",
    "hugetlb.2MB.max": "max\n",
    "hugetlb.2MB.events": "max 0\n",
    "hugetlb.2MB.rsvd.current": "0\n",
    "hugetlb.1GB.current": "1073741824\n",
    "hugetlb.1GB.events": "max 2\n",
    ...extra,
  });
}

const v2Record = (dir: string): CgroupRecord => ({ version: "v2", path: "/bunc/x", dirs: { unified: dir }, created: [] });

describe("cgroup v2", () => {
  test("every controller's numbers, in v1's units and tables", () => {
    const dir = v2Tree();
    const s = readStats(v2Record(dir));
    expect(s.cpu).toEqual({
      usage: { total: 2500000n, kernel: 500000n, user: 2000000n },
      throttling: { periods: 4n, throttledPeriods: 1n, throttledTime: 7000n },
      psi: { some: { avg10: 1.5, avg60: 0.25, avg300: 0, total: 1234n }, full: { avg10: 0, avg60: 0, avg300: 0, total: 99n } },
    });
    expect(s.cpuset.cpus).toEqual([0, 1]);
    expect(s.memory.cache).toBe(2097152n);
    expect(s.memory.usage).toEqual({ limit: 33554432n, usage: 3145728n, max: 4194304n, failcnt: 12n });
    // memory+swap as v1 has it; an unlimited swap stays unlimited.
    expect(s.memory.swap).toEqual({ limit: U64_MAX, usage: 3146728n, failcnt: 0n });
    expect(s.memory.kernel).toEqual({ limit: 0n, failcnt: 0n });
    expect(s.memory.raw).toEqual({ anon: 1048576n, file: 2097152n, kernel: 4096n });
    expect(s.pids).toEqual({ current: 2n, limit: 100n });
    expect(s.blkio.ioServiceBytesRecursive).toEqual([
      { major: 8n, op: "Read", value: 4096n },
      { major: 8n, op: "Write", value: 8192n },
      { major: 8n, op: "Discard" },
      { major: 253n, minor: 1n, op: "Read" },
      { major: 253n, minor: 1n, op: "Write", value: 512n },
      { major: 253n, minor: 1n, op: "Discard" },
    ]);
    expect(s.blkio.ioServicedRecursive?.slice(0, 2)).toEqual([
      { major: 8n, op: "Read", value: 1n },
      { major: 8n, op: "Write", value: 2n },
    ]);
    expect(s.blkio.psi?.full?.total).toBe(3n);
    expect(s.hugetlb).toEqual({ "2MB": { failcnt: 0n }, "1GB": { usage: 1073741824n, failcnt: 2n } });
    expect(oomKillCount(v2Record(dir))).toBe(1n);
  });

  test("a swap limit adds the memory limit; memory.max max is 2^64-1", () => {
    const s = readStats(v2Record(v2Tree({ "memory.swap.max": "1000000\n" })));
    expect(s.memory.swap.limit).toBe(34554432n);
    const unlimited = readStats(v2Record(v2Tree({ "memory.max": "max\n", "memory.swap.max": "5\n" })));
    expect(unlimited.memory.usage.limit).toBe(U64_MAX);
    expect(unlimited.memory.swap.limit).toBe(U64_MAX);
  });

  test("without the pids controller, pids.current is counted from cgroup.procs", () => {
    const dir = tree({ "cgroup.procs": "10\n11\n12\n" });
    expect(readStats(v2Record(dir)).pids).toEqual({ current: 3n });
  });

  test("an empty directory: zeros, no errors", () => {
    const s = readStats(v2Record(tree({})));
    expect(s.cpu).toEqual({ usage: { kernel: 0n, user: 0n }, throttling: {} });
    expect(s.memory.usage).toEqual({ limit: 0n, failcnt: 0n });
    expect(s.blkio).toEqual({});
    expect(oomKillCount(v2Record(join(base, "gone")))).toBeUndefined();
  });
});

describe("parsers", () => {
  test("parseU64", () => {
    expect(parseU64("0")).toBe(0n);
    expect(parseU64("max")).toBe(U64_MAX);
    expect(parseU64("18446744073709551615")).toBe(U64_MAX);
    expect(parseU64("-1")).toBeUndefined();
    expect(parseU64("1.5")).toBeUndefined();
    expect(parseU64(undefined)).toBeUndefined();
  });

  test("keyValues skips lines that are not 'key value'", () => {
    expect([...keyValues("a 1\nb\nc 2 3\n d  4 \n")]).toEqual([
      ["a", 1n],
      ["d", 4n],
    ]);
  });

  test("parseCpuList", () => {
    expect(parseCpuList("0-3,8,10-11\n")).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList("\n")).toBeUndefined();
    expect(parseCpuList("0-x")).toBeUndefined();
  });

  test("parsePsi", () => {
    expect(parsePsi("some avg10=0.10 avg60=0.00 avg300=0.00 total=5\n")).toEqual({ some: { avg10: 0.1, avg60: 0, avg300: 0, total: 5n } });
    expect(parsePsi("")).toBeUndefined();
  });

  test("parseBlkioFile: with and without an op, malformed", () => {
    expect(parseBlkioFile("8:0 6792\n")).toEqual([{ major: 8n, value: 6792n }]);
    expect(parseBlkioFile("8:0 Read\n")).toBeUndefined();
  });

  test("parseIoStat ignores keys v1 has no table for", () => {
    expect(parseIoStat("259:0 rbytes=1 cost.usage=5\n")).toEqual({ ioServiceBytesRecursive: [{ major: 259n, op: "Read", value: 1n }] });
  });
});

describe("toJson", () => {
  test("bigints as exact digits, undefined members left out", () => {
    expect(toJson({ a: U64_MAX, b: undefined, c: [1n, 2], d: { e: "x", f: 1.5, g: null }, h: true })).toBe(
      '{"a":18446744073709551615,"c":[1,2],"d":{"e":"x","f":1.5,"g":null},"h":true}',
    );
  });

  test("an event line of a v1 cgroup parses back to runc's shape", () => {
    const s = readStats(v1Record(v1Tree()));
    const doc = JSON.parse(toJson({ type: "stats", id: "c1", data: s }));
    expect(Object.keys(doc.data)).toEqual(["cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt"]);
    expect(doc.data.cpu.usage.total).toBe(5000000000);
    // Members in runc's order.
    expect(Object.keys(doc.data.cpu.usage)).toEqual(["total", "percpu", "percpu_kernel", "percpu_user", "kernel", "user"]);
    expect(Object.keys(doc.data.memory)).toEqual(["cache", "usage", "swap", "kernel", "kernelTCP", "raw"]);
    expect(Object.keys(doc.data.cpuset).slice(0, 3)).toEqual(["cpus", "cpu_exclusive", "mems"]);
    expect(doc.data.memory.usage).toEqual({ limit: 33554432, usage: 12288, max: 65536, failcnt: 7 });
    expect(doc.data.cpuset.cpu_exclusive).toBe(0);
    expect(toJson(s.memory.swap)).toBe('{"limit":9223372036854771712,"usage":12288,"max":65536,"failcnt":0}');
  });
});
