// A container's resource usage read from its cgroup files, in the shape of runc's `events`
// data (its types/events.go): what tools that read `runc events` expect. Every counter is
// a bigint: limits such as v2's "max" (2^64-1) or v1's unlimited 9223372036854771712 do not
// survive a double. Files that are missing or unreadable are skipped: the fields they
// would fill stay at zero (or absent), as a controller may be off, or a kernel older.
//
// JSON follows the Go encoder's rules for those types: fields tagged omitempty are left out
// when zero (so they are optional here), the others are always there.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CgroupRecord } from "./cgroup.ts";

export interface MemoryEntry {
  limit: bigint;
  usage?: bigint;
  max?: bigint;
  failcnt: bigint;
}

export interface PsiData {
  avg10: number;
  avg60: number;
  avg300: number;
  total: bigint;
}

export interface PsiStats {
  some?: PsiData;
  full?: PsiData;
}

export interface BlkioEntry {
  major?: bigint;
  minor?: bigint;
  op?: string;
  value?: bigint;
}

export interface Blkio {
  ioServiceBytesRecursive?: BlkioEntry[];
  ioServicedRecursive?: BlkioEntry[];
  ioQueueRecursive?: BlkioEntry[];
  ioServiceTimeRecursive?: BlkioEntry[];
  ioWaitTimeRecursive?: BlkioEntry[];
  ioMergedRecursive?: BlkioEntry[];
  ioTimeRecursive?: BlkioEntry[];
  sectorsRecursive?: BlkioEntry[];
  psi?: PsiStats;
}

export interface Hugetlb {
  usage?: bigint;
  max?: bigint;
  failcnt: bigint;
}

export interface Stats {
  cpu: {
    usage: { total?: bigint; percpu?: bigint[]; percpu_kernel?: bigint[]; percpu_user?: bigint[]; kernel: bigint; user: bigint };
    throttling: { periods?: bigint; throttledPeriods?: bigint; throttledTime?: bigint };
    psi?: PsiStats;
  };
  cpuset: {
    cpus?: number[];
    cpu_exclusive: bigint;
    mems?: number[];
    mem_hardwall: bigint;
    mem_exclusive: bigint;
    memory_migrate: bigint;
    memory_spread_page: bigint;
    memory_spread_slab: bigint;
    memory_pressure: bigint;
    sched_load_balance: bigint;
    sched_relax_domain_level: bigint;
  };
  memory: {
    cache?: bigint;
    usage: MemoryEntry;
    swap: MemoryEntry;
    kernel: MemoryEntry;
    kernelTCP: MemoryEntry;
    raw?: Record<string, bigint>;
    psi?: PsiStats;
  };
  pids: { current?: bigint; limit?: bigint };
  blkio: Blkio;
  /** Page size ("2MB") → usage. */
  hugetlb: Record<string, Hugetlb>;
  /** Intel RDT is not supported: always empty. */
  intel_rdt: Record<string, never>;
}

export const U64_MAX = 18446744073709551615n;

// --- reading files ---------------------------------------------------------------------------

/** A file's text, or undefined when it cannot be read (missing, controller off, ENODEV...). */
function read(dir: string | undefined, file: string): string | undefined {
  if (!dir) return undefined;
  try {
    return readFileSync(join(dir, file), "utf8");
  } catch {
    return undefined;
  }
}

/** An unsigned decimal; "max" is 2^64-1. Anything else (negative, garbage) is undefined. */
export function parseU64(word: string | undefined): bigint | undefined {
  if (word === undefined) return undefined;
  if (word === "max") return U64_MAX;
  if (!/^\d+$/.test(word)) return undefined;
  const n = BigInt(word);
  return n > U64_MAX ? U64_MAX : n;
}

/** The single value of a file such as memory.current. */
const single = (dir: string | undefined, file: string) => parseU64(read(dir, file)?.trim());

/** "key value" lines (memory.stat, cpu.stat, memory.events...) as a map; bad lines skipped. */
export function keyValues(text: string | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of (text ?? "").split("\n")) {
    const [key, value, extra] = line.trim().split(/\s+/);
    if (!key || extra !== undefined) continue;
    const n = parseU64(value);
    if (n !== undefined) out.set(key, n);
  }
  return out;
}

const keyed = (dir: string | undefined, file: string) => keyValues(read(dir, file));

/** A cpu/mem list such as "0-3,8,10-11" as numbers; undefined when empty or malformed. */
export function parseCpuList(text: string | undefined): number[] | undefined {
  const s = text?.trim();
  if (!s) return undefined;
  const out: number[] = [];
  for (const part of s.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let n = from; n <= to && out.length < 65536; n++) out.push(n);
  }
  return out;
}

/** A PSI file (cpu.pressure...): "some avg10=0.00 avg60=0.00 avg300=0.00 total=0". */
export function parsePsi(text: string | undefined): PsiStats | undefined {
  if (text === undefined) return undefined;
  const out: PsiStats = {};
  for (const line of text.split("\n")) {
    const [kind, ...pairs] = line.trim().split(/\s+/);
    if (kind !== "some" && kind !== "full") continue;
    const data: PsiData = { avg10: 0, avg60: 0, avg300: 0, total: 0n };
    for (const pair of pairs) {
      const [k, v] = pair.split("=");
      if (k === "total") data.total = parseU64(v) ?? 0n;
      else if (k === "avg10" || k === "avg60" || k === "avg300") data[k] = Number(v) || 0;
    }
    out[kind] = data;
  }
  return out.some || out.full ? out : undefined;
}

const sat = (a: bigint, b: bigint) => (a + b > U64_MAX ? U64_MAX : a + b);
const nonZero = (n: bigint | undefined) => (n ? n : undefined);

function emptyStats(): Stats {
  return {
    cpu: { usage: { kernel: 0n, user: 0n }, throttling: {} },
    cpuset: {
      cpu_exclusive: 0n,
      mem_hardwall: 0n,
      mem_exclusive: 0n,
      memory_migrate: 0n,
      memory_spread_page: 0n,
      memory_spread_slab: 0n,
      memory_pressure: 0n,
      sched_load_balance: 0n,
      sched_relax_domain_level: 0n,
    },
    memory: { usage: entry(), swap: entry(), kernel: entry(), kernelTCP: entry() },
    pids: {},
    blkio: {},
    hugetlb: {},
    intel_rdt: {},
  };
}

function entry(limit?: bigint, usage?: bigint, max?: bigint, failcnt?: bigint): MemoryEntry {
  // Key order as runc prints it.
  return prune({ limit: limit ?? 0n, usage: nonZero(usage), max: nonZero(max), failcnt: failcnt ?? 0n });
}

/** Drops the keys whose value is undefined, so the JSON has no `"x": null` holes. */
function prune<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

// --- cgroup v1 ------------------------------------------------------------------------------

const CLOCK_TICKS = 100n; // USER_HZ: cpuacct.stat counts in these, on every Linux
const NS_PER_SEC = 1_000_000_000n;

function cpuV1(s: Stats, cpuacct: string | undefined, cpu: string | undefined): void {
  const percpuWords = read(cpuacct, "cpuacct.usage_percpu")?.trim().split(/\s+/).map(parseU64);
  const percpu = percpuWords?.length && percpuWords.every((n) => n !== undefined) ? (percpuWords as bigint[]) : undefined;
  // "cpu user system" then one line per cpu, in nanoseconds.
  const all = read(cpuacct, "cpuacct.usage_all")?.split("\n").slice(1);
  const kernel: bigint[] = [];
  const user: bigint[] = [];
  for (const line of all ?? []) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3) continue;
    const [us, sy] = [parseU64(f[1]), parseU64(f[2])];
    if (us === undefined || sy === undefined) continue;
    user.push(us);
    kernel.push(sy);
  }
  // Nanoseconds where the kernel has them; else cpuacct.stat's ticks.
  let userNs = single(cpuacct, "cpuacct.usage_user");
  let sysNs = single(cpuacct, "cpuacct.usage_sys");
  if (userNs === undefined || sysNs === undefined) {
    const stat = keyed(cpuacct, "cpuacct.stat");
    userNs = ((stat.get("user") ?? 0n) * NS_PER_SEC) / CLOCK_TICKS;
    sysNs = ((stat.get("system") ?? 0n) * NS_PER_SEC) / CLOCK_TICKS;
  }
  s.cpu.usage = prune({
    total: nonZero(single(cpuacct, "cpuacct.usage")),
    percpu,
    percpu_kernel: kernel.length ? kernel : undefined,
    percpu_user: user.length ? user : undefined,
    kernel: sysNs,
    user: userNs,
  });
  const t = keyed(cpu, "cpu.stat");
  s.cpu.throttling = prune({
    periods: nonZero(t.get("nr_periods")),
    throttledPeriods: nonZero(t.get("nr_throttled")),
    throttledTime: nonZero(t.get("throttled_time")),
  });
}

function cpusetV1(s: Stats, dir: string | undefined): void {
  if (!dir) return;
  const flag = (name: string) => single(dir, `cpuset.${name}`) ?? 0n;
  // The one signed value: -1 is the default ("use the system's").
  const level = read(dir, "cpuset.sched_relax_domain_level")?.trim();
  s.cpuset = prune({
    cpus: parseCpuList(read(dir, "cpuset.cpus")),
    cpu_exclusive: flag("cpu_exclusive"),
    mems: parseCpuList(read(dir, "cpuset.mems")),
    mem_hardwall: flag("mem_hardwall"),
    mem_exclusive: flag("mem_exclusive"),
    memory_migrate: flag("memory_migrate"),
    memory_spread_page: flag("memory_spread_page"),
    memory_spread_slab: flag("memory_spread_slab"),
    memory_pressure: flag("memory_pressure"),
    sched_load_balance: flag("sched_load_balance"),
    sched_relax_domain_level: level && /^-?\d+$/.test(level) ? BigInt(level) : 0n,
  });
}

/** memory.<name>.usage_in_bytes and friends ("" for memory.*). */
function memoryEntryV1(dir: string, prefix: string): MemoryEntry {
  const f = (suffix: string) => single(dir, `${prefix}.${suffix}`);
  return entry(f("limit_in_bytes"), f("usage_in_bytes"), f("max_usage_in_bytes"), f("failcnt"));
}

function memoryV1(s: Stats, dir: string | undefined): void {
  if (!dir) return;
  const raw = keyed(dir, "memory.stat");
  s.memory = prune({
    cache: nonZero(raw.get("cache")),
    usage: memoryEntryV1(dir, "memory"),
    swap: memoryEntryV1(dir, "memory.memsw"),
    kernel: memoryEntryV1(dir, "memory.kmem"),
    kernelTCP: memoryEntryV1(dir, "memory.kmem.tcp"),
    raw: raw.size ? Object.fromEntries(raw) : undefined,
  });
}

function pidsOf(s: Stats, dir: string | undefined): void {
  if (!dir) return;
  let current = single(dir, "pids.current");
  // cgroup2 without the pids controller enabled: count the members instead.
  if (current === undefined) {
    const procs = read(dir, "cgroup.procs");
    if (procs !== undefined) current = BigInt(procs.split("\n").filter(Boolean).length);
  }
  const max = single(dir, "pids.max");
  s.pids = prune({ current: nonZero(current), limit: max === U64_MAX ? undefined : nonZero(max) });
}

/** A blkio stats file: "8:0 Read 123" lines (or "8:0 123"), the closing "Total N" skipped. */
export function parseBlkioFile(text: string): BlkioEntry[] | undefined {
  const out: BlkioEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/[\s:]+/).filter(Boolean);
    if (f.length === 0 || (f.length === 2 && f[0] === "Total")) continue;
    if (f.length !== 3 && f.length !== 4) return undefined;
    const [major, minor, value] = [parseU64(f[0]), parseU64(f[1]), parseU64(f[f.length - 1])];
    if (major === undefined || minor === undefined || value === undefined) return undefined;
    out.push(prune({ major: nonZero(major), minor: nonZero(minor), op: f.length === 4 ? f[2] : undefined, value: nonZero(value) }));
  }
  return out;
}

type BlkioKey = Exclude<keyof Blkio, "psi">;

// Where the v1 numbers are, best first: the first set whose first file is there is used
// (BFQ with its debug files, BFQ, CFQ, then the throttle layer that is always there).
const BLKIO_SETS: [string, BlkioKey][][] = [
  [
    ["blkio.bfq.sectors_recursive", "sectorsRecursive"],
    ["blkio.bfq.io_service_time_recursive", "ioServiceTimeRecursive"],
    ["blkio.bfq.io_wait_time_recursive", "ioWaitTimeRecursive"],
    ["blkio.bfq.io_merged_recursive", "ioMergedRecursive"],
    ["blkio.bfq.io_queued_recursive", "ioQueueRecursive"],
    ["blkio.bfq.time_recursive", "ioTimeRecursive"],
    ["blkio.bfq.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.bfq.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.sectors_recursive", "sectorsRecursive"],
    ["blkio.io_service_time_recursive", "ioServiceTimeRecursive"],
    ["blkio.io_wait_time_recursive", "ioWaitTimeRecursive"],
    ["blkio.io_merged_recursive", "ioMergedRecursive"],
    ["blkio.io_queued_recursive", "ioQueueRecursive"],
    ["blkio.time_recursive", "ioTimeRecursive"],
    ["blkio.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.throttle.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.throttle.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.throttle.io_serviced", "ioServicedRecursive"],
    ["blkio.throttle.io_service_bytes", "ioServiceBytesRecursive"],
  ],
];

function blkioV1(s: Stats, dir: string | undefined): void {
  if (!dir) return;
  for (const set of BLKIO_SETS) {
    const first = read(dir, set[0]![0]);
    if (first === undefined) continue;
    for (const [file, key] of set) {
      const entries = parseBlkioFile(read(dir, file) ?? "");
      if (entries?.length) s.blkio[key] = entries;
    }
    return;
  }
}

/** Huge page sizes that have a file named hugetlb.<size>.<suffix> in `dir`. */
function hugePageSizesIn(dir: string, suffix: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const re = new RegExp(`^hugetlb\\.(\\d+[KMG]B)\\.${suffix.replace(/\./g, "\\.")}$`);
  return names.flatMap((n) => re.exec(n)?.[1] ?? []).sort((a, b) => hugeBytes(a) - hugeBytes(b));
}

const hugeBytes = (size: string) => Number(size.slice(0, -2)) * { K: 1, M: 1 << 10, G: 1 << 20 }[size.at(-2) as "K" | "M" | "G"];

function hugetlbV1(s: Stats, dir: string | undefined): void {
  if (!dir) return;
  for (const size of hugePageSizesIn(dir, "usage_in_bytes")) {
    const f = (suffix: string) => single(dir, `hugetlb.${size}.${suffix}`);
    s.hugetlb[size] = prune({ usage: nonZero(f("usage_in_bytes")), max: nonZero(f("max_usage_in_bytes")), failcnt: f("failcnt") ?? 0n });
  }
}

/** Stats of a v1 cgroup: `dirs` maps controllers to directories; a cgroup2 directory under
 *  "unified" (hybrid hosts) supplies hugetlb when no v1 hierarchy has it. */
export function readStatsV1(dirs: Record<string, string>): Stats {
  const s = emptyStats();
  cpuV1(s, dirs.cpuacct, dirs.cpu);
  cpusetV1(s, dirs.cpuset);
  memoryV1(s, dirs.memory);
  pidsOf(s, dirs.pids);
  blkioV1(s, dirs.blkio);
  if (dirs.hugetlb) hugetlbV1(s, dirs.hugetlb);
  else hugetlbV2(s, dirs.unified);
  return s;
}

// --- cgroup v2 ------------------------------------------------------------------------------

const USEC = 1000n;

function cpuV2(s: Stats, dir: string): void {
  const st = keyed(dir, "cpu.stat");
  const usec = (k: string) => {
    const v = st.get(k);
    return v === undefined ? undefined : v * USEC;
  };
  s.cpu.usage = prune({ total: nonZero(usec("usage_usec")), kernel: usec("system_usec") ?? 0n, user: usec("user_usec") ?? 0n });
  s.cpu.throttling = prune({
    periods: nonZero(st.get("nr_periods")),
    throttledPeriods: nonZero(st.get("nr_throttled")),
    throttledTime: nonZero(usec("throttled_usec")),
  });
  const psi = parsePsi(read(dir, "cpu.pressure"));
  if (psi) s.cpu.psi = psi;
}

function cpusetV2(s: Stats, dir: string): void {
  const { cpu_exclusive, ...rest } = s.cpuset;
  s.cpuset = prune({
    cpus: parseCpuList(read(dir, "cpuset.cpus.effective")),
    cpu_exclusive,
    mems: parseCpuList(read(dir, "cpuset.mems.effective")),
    ...rest,
  });
}

function memoryV2(s: Stats, dir: string): void {
  const raw = keyed(dir, "memory.stat");
  const usage = single(dir, "memory.current");
  const limit = single(dir, "memory.max");
  // v1 reports memory+swap; so does runc on v2, adding the memory numbers in.
  const swapUsage = single(dir, "memory.swap.current");
  let swap = entry();
  if (swapUsage !== undefined) {
    const swapLimit = single(dir, "memory.swap.max") ?? 0n;
    const combinedLimit = swapLimit === U64_MAX ? U64_MAX : sat(swapLimit, limit ?? 0n);
    swap = entry(combinedLimit, sat(swapUsage, usage ?? 0n), single(dir, "memory.swap.peak"), keyed(dir, "memory.swap.events").get("max"));
  }
  s.memory = prune({
    cache: nonZero(raw.get("file")),
    // failcnt: how often the limit was hit (v1 counts failed charges; v2 has this).
    usage: entry(limit, usage, single(dir, "memory.peak"), keyed(dir, "memory.events").get("max")),
    swap,
    kernel: entry(),
    kernelTCP: entry(),
    raw: raw.size ? Object.fromEntries(raw) : undefined,
    psi: parsePsi(read(dir, "memory.pressure")),
  });
}

// io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0", mapped onto v1's tables.
const IO_KEYS: Record<string, [BlkioKey, string]> = {
  rbytes: ["ioServiceBytesRecursive", "Read"],
  wbytes: ["ioServiceBytesRecursive", "Write"],
  dbytes: ["ioServiceBytesRecursive", "Discard"],
  rios: ["ioServicedRecursive", "Read"],
  wios: ["ioServicedRecursive", "Write"],
  dios: ["ioServicedRecursive", "Discard"],
};

export function parseIoStat(text: string | undefined): Blkio {
  const out: Blkio = {};
  for (const line of (text ?? "").split("\n")) {
    const [dev, ...pairs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? "");
    if (!m) continue;
    const [major, minor] = [BigInt(m[1]!), BigInt(m[2]!)];
    for (const pair of pairs) {
      const [k, v] = pair.split("=");
      const target = IO_KEYS[k ?? ""];
      const value = parseU64(v);
      if (!target || value === undefined) continue;
      (out[target[0]] ??= []).push(prune({ major: nonZero(major), minor: nonZero(minor), op: target[1], value: nonZero(value) }));
    }
  }
  return out;
}

function hugetlbV2(s: Stats, dir: string | undefined): void {
  if (!dir) return;
  for (const size of hugePageSizesIn(dir, "current")) {
    s.hugetlb[size] = prune({
      usage: nonZero(single(dir, `hugetlb.${size}.current`)),
      failcnt: keyed(dir, `hugetlb.${size}.events`).get("max") ?? 0n,
    });
  }
}

/** Stats of a cgroup2 directory. */
export function readStatsV2(dir: string): Stats {
  const s = emptyStats();
  cpuV2(s, dir);
  cpusetV2(s, dir);
  memoryV2(s, dir);
  pidsOf(s, dir);
  s.blkio = parseIoStat(read(dir, "io.stat"));
  const psi = parsePsi(read(dir, "io.pressure"));
  if (psi) s.blkio.psi = psi;
  hugetlbV2(s, dir);
  return s;
}

/** The container's stats, whatever the layout of its cgroup. */
export function readStats(record: CgroupRecord): Stats {
  return record.version === "v2" ? readStatsV2(record.dirs.unified!) : readStatsV1(record.dirs);
}

// --- OOM kills --------------------------------------------------------------------------------

/**
 * How many processes of the container the OOM killer has killed so far: v1's
 * memory.oom_control "oom_kill", v2's memory.events "oom_kill" (which counts its
 * sub-cgroups too). Undefined when there is no such counter (no memory controller, or the
 * cgroup is gone).
 */
export { oomKillCount } from "./oom.ts";

// --- JSON ---------------------------------------------------------------------------------------

/** JSON text of a value that may hold bigints (as plain digits); undefined members are left out. */
export function toJson(value: unknown): string {
  switch (typeof value) {
    case "bigint":
      return value.toString();
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : toJson(v))).join(",")}]`;
      const parts: string[] = [];
      for (const [k, v] of Object.entries(value)) {
        if (v !== undefined && typeof v !== "function") parts.push(`${JSON.stringify(k)}:${toJson(v)}`);
      }
      return `{${parts.join(",")}}`;
    }
    default:
      return "null";
  }
}
