// linux.resources as cgroup v1 file writes, in the order they are to be made. Pure: the
// host's features come in through options, current values through an optional reader,
// so every translation is testable without a cgroupfs.
//
// Conventions (shared with v2-writes.ts): a field that is absent or 0 writes nothing, as
// with runc (0 is "unset" for limits, shares, quota, period...); -1 means unlimited where
// the spec allows it. A value the kernel would refuse for a reason we can see here is an
// error naming the field and the value, before anything is written.
import { nodeFs } from "../../node-fs.ts";
import { BuncError } from "../../errors.ts";
import type { LinuxResources } from "../../spec/runtime-config.ts";
import { v1RuleText, type DeviceRule } from "./device-rules.ts";
import type { CgroupWrite } from "./writes.ts";

export interface WriteOptions {
  /** Where notes about settings that are ignored go. */
  log?: (msg: string) => void;
  /**
   * Current contents of a file of the container's cgroup, or undefined when unknown. Used
   * where the order of two dependent writes, or the half of a file that is kept, depends
   * on what is there now (update). Unknown means the kernel's default for a new cgroup.
   */
  current?: (file: string) => string | undefined;
  /** Huge page sizes of this host ("2MB", "1GB"); default: hostHugePageSizes(). */
  hugePageSizes?: string[];
  /** The host accounts swap (v1 memory.memsw.*, v2 memory.swap.max). Default true. */
  swapAccounting?: boolean;
  /** The hugetlb controller has reservation limits (hugetlb.<size>.rsvd.*). Default false. */
  hugetlbRsvd?: boolean;
  /** Weights go to the BFQ scheduler's files (blkio.bfq.weight, io.bfq.weight). Default false. */
  bfq?: boolean;
}

export interface V1WriteOptions extends WriteOptions {
  /** Hybrid host whose hugetlb controller is on the cgroup2 tree: use its file names. */
  hugetlbOnV2?: boolean;
}

/** An error naming the field under linux.resources and its value. */
export function fieldError(field: string, value: unknown, why: string): BuncError {
  return new BuncError("config", `linux.resources.${field}: ${JSON.stringify(value)}: ${why}`);
}

const U64_MAX = 18446744073709551615n;

/** An integer in full digits. JSON's 2^64 (the rounded largest uint64) becomes 2^64-1. */
export function num(n: number): string {
  if (!Number.isSafeInteger(n) && Number.isInteger(n)) {
    const b = BigInt(n);
    return (b > U64_MAX ? U64_MAX : b).toString();
  }
  return String(n);
}

export const write = (controller: string, file: string, value: string): CgroupWrite => ({ controller, file, value });

/** Byte counts of memory.*: -1 (unlimited) or not negative. */
export function checkBytes(field: string, v: number | undefined): number {
  if (v !== undefined && v < -1) throw fieldError(field, v, "must be -1 (unlimited) or a number of bytes");
  return v ?? 0;
}

/** A current value as a number: `unknown` when there is none, "max" or -1 as Infinity. */
export function currentNumber(text: string | undefined, unknown: number): number {
  if (text === undefined) return unknown;
  const n = Number(text.trim().split(/\s+/)[0]);
  return Number.isFinite(n) && n >= 0 ? n : Infinity;
}

// --- huge pages ----------------------------------------------------------------------------

/** The kernel's name of a huge page size given in kB (2048 → "2MB", 1048576 → "1GB"). */
export function hugePageSizeName(kB: number): string {
  if (kB >= 1 << 20) return `${Math.floor(kB / (1 << 20))}GB`;
  if (kB >= 1 << 10) return `${Math.floor(kB / (1 << 10))}MB`;
  return `${kB}KB`;
}

/** The huge page sizes this host has, from the hugepages-<kB>kB directories in sysfs. */
export function hostHugePageSizes(dir = "/sys/kernel/mm/hugepages"): string[] {
  let names: string[];
  try {
    names = nodeFs().readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const m = /^hugepages-(\d+)kB$/.exec(n);
    return m ? [hugePageSizeName(Number(m[1]))] : [];
  });
}

/** The cgroup2 limit file of a huge page size: "2MB" → "hugetlb.2MB.max". */
export function hugetlbV2File(pageSize: string): string {
  return `hugetlb.${pageSize}.max`;
}

/** hugetlb writes, v1 or v2 file names; each page size must be one of the host's. */
export function hugetlbWrites(r: LinuxResources, opts: WriteOptions, v2Names: boolean): CgroupWrite[] {
  const limits = r.hugepageLimits ?? [];
  if (!limits.length) return [];
  const sizes = opts.hugePageSizes ?? hostHugePageSizes();
  const out: CgroupWrite[] = [];
  limits.forEach((h, i) => {
    if (!sizes.includes(h.pageSize)) {
      const has = sizes.length ? `this host has ${sizes.join(", ")}` : "this host has no huge pages";
      throw fieldError(`hugepageLimits[${i}].pageSize`, h.pageSize, `not a huge page size of this host (${has})`);
    }
    const value = num(h.limit);
    const suffix = v2Names ? ".max" : ".limit_in_bytes";
    out.push(write("hugetlb", `hugetlb.${h.pageSize}${suffix}`, value));
    // The spec asks for reservation accounting where the kernel has it.
    if (opts.hugetlbRsvd) out.push(write("hugetlb", `hugetlb.${h.pageSize}.rsvd${suffix}`, value));
  });
  return out;
}

// --- shared by v1 and v2 -------------------------------------------------------------------

/** pids.max: a positive limit as is, 0 as 0 (the spec: a valid limit), below 0 "max". */
export function pidsWrites(r: LinuxResources): CgroupWrite[] {
  const limit = r.pids?.limit;
  if (limit === undefined) return [];
  return [write("pids", "pids.max", limit < 0 ? "max" : num(limit))];
}

/** rdma.max, one write per device: "mlx4_0 hca_handle=2 hca_object=2000". */
export function rdmaWrites(r: LinuxResources): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  for (const [dev, lim] of Object.entries(r.rdma ?? {})) {
    if (!/^[^\s]+$/.test(dev)) throw fieldError(`rdma[${JSON.stringify(dev)}]`, dev, "not a device name");
    let value = dev;
    if (lim.hcaHandles !== undefined) value += ` hca_handle=${num(lim.hcaHandles)}`;
    if (lim.hcaObjects !== undefined) value += ` hca_object=${num(lim.hcaObjects)}`;
    if (value !== dev) out.push(write("rdma", "rdma.max", value)); // nothing to limit: nothing to write
  }
  return out;
}

/** "MAJ:MIN" of a block device entry; negative numbers (wildcards) mean nothing here. */
export function devNumbers(field: string, d: { major: number; minor: number }): string {
  if (d.major < 0) throw fieldError(`${field}.major`, d.major, "must be a device number");
  if (d.minor < 0) throw fieldError(`${field}.minor`, d.minor, "must be a device number");
  return `${d.major}:${d.minor}`;
}

/** blkio weights: 10 to 1000 (BFQ: 1 to 1000). */
export function checkWeight(field: string, w: number, bfq: boolean): number {
  const min = bfq ? 1 : 10;
  if (w < min || w > 1000) throw fieldError(field, w, `must be ${min} to 1000`);
  return w;
}

/** cpu.weight and cpu.shares must not be written while cpu.idle is 1 (the kernel refuses). */
export function withIdle(idle: CgroupWrite | undefined, rest: CgroupWrite[]): CgroupWrite[] {
  if (!idle) return rest;
  return idle.value === "0" ? [idle, ...rest] : [...rest, idle];
}

/**
 * Two writes where `a` normally goes first; `b` goes first when `bFirst`. Used for
 * pairs the kernel checks against each other (memsw ≥ limit, burst ≤ quota...).
 */
const pair = (a: CgroupWrite | undefined, b: CgroupWrite | undefined, bFirst: boolean) =>
  [...(bFirst ? [b, a] : [a, b])].filter((w): w is CgroupWrite => !!w);

// --- v1 ------------------------------------------------------------------------------------

function memory(r: LinuxResources, opts: V1WriteOptions): CgroupWrite[] {
  const m = r.memory;
  if (!m) return [];
  const log = opts.log ?? (() => {});
  const swapOn = opts.swapAccounting ?? true;
  const limit = checkBytes("memory.limit", m.limit);
  let swap = checkBytes("memory.swap", m.swap);
  const reservation = checkBytes("memory.reservation", m.reservation);
  // An unlimited memory with no word on swap: memory+swap unlimited too (else the old
  // memsw limit would still cap memory).
  if (limit === -1 && swap === 0 && swapOn) swap = -1;
  if (swap !== 0 && !swapOn) throw fieldError("memory.swap", swap, "this host does not account swap (no memory.memsw.limit_in_bytes)");
  if (swap > 0 && limit === -1) throw fieldError("memory.swap", swap, "memory+swap cannot be limited while memory.limit is -1 (unlimited)");
  if (swap > 0 && limit > 0 && swap < limit) throw fieldError("memory.swap", swap, `memory+swap must be at least memory.limit (${limit})`);
  const out: CgroupWrite[] = [];
  const lim = limit ? write("memory", "memory.limit_in_bytes", num(limit)) : undefined;
  const sw = swap ? write("memory", "memory.memsw.limit_in_bytes", num(swap)) : undefined;
  // memsw must stay ≥ limit after each write. Raising (or unlimiting) memsw past the
  // current limit goes first; otherwise the limit does. With the current limit unknown (a
  // new cgroup: unlimited) that is limit first, then memsw, unless memsw is -1.
  out.push(...pair(lim, sw, !!lim && !!sw && (swap === -1 || currentNumber(opts.current?.("memory.limit_in_bytes"), Infinity) < swap)));
  if (reservation) out.push(write("memory", "memory.soft_limit_in_bytes", num(reservation)));
  if (m.kernel !== undefined) log("memory.kernel is ignored by current kernels");
  if (m.kernelTCP) out.push(write("memory", "memory.kmem.tcp.limit_in_bytes", num(checkBytes("memory.kernelTCP", m.kernelTCP))));
  if (m.disableOOMKiller) out.push(write("memory", "memory.oom_control", "1"));
  if (m.swappiness !== undefined) {
    if (m.swappiness > 100) throw fieldError("memory.swappiness", m.swappiness, "must be 0 to 100");
    out.push(write("memory", "memory.swappiness", num(m.swappiness)));
  }
  // Only ever switched on: recent kernels are always hierarchical and refuse "0".
  if (m.useHierarchy) out.push(write("memory", "memory.use_hierarchy", "1"));
  return out;
}

function cpu(r: LinuxResources, opts: V1WriteOptions): CgroupWrite[] {
  const c = r.cpu;
  if (!c) return [];
  // A new cgroup has no burst and (v1) no real-time runtime.
  const cur = (file: string) => currentNumber(opts.current?.(file), 0);
  const rest: CgroupWrite[] = [];
  if (c.shares) {
    // The kernel clamps out-of-range shares silently; runc reads back and fails: so do we, first.
    if (c.shares < 2 || c.shares > 262144) throw fieldError("cpu.shares", c.shares, "must be 2 to 262144");
    rest.push(write("cpu", "cpu.shares", num(c.shares)));
  }
  // The period goes before the quota, the quota before the burst (burst ≤ quota), unless
  // the burst is being lowered: then it goes first, fitting whatever quota is there.
  if (c.period) rest.push(write("cpu", "cpu.cfs_period_us", num(c.period)));
  const quota = c.quota ? write("cpu", "cpu.cfs_quota_us", num(c.quota)) : undefined;
  const burst = c.burst !== undefined ? write("cpu", "cpu.cfs_burst_us", num(c.burst)) : undefined;
  rest.push(...pair(quota, burst, c.burst !== undefined && c.burst < cur("cpu.cfs_burst_us")));
  const out = withIdle(c.idle !== undefined ? write("cpu", "cpu.idle", num(c.idle)) : undefined, rest);
  // rt_runtime ≤ rt_period: the runtime goes first only when the period drops below it.
  const rtPeriod = c.realtimePeriod ? write("cpu", "cpu.rt_period_us", num(c.realtimePeriod)) : undefined;
  const rtRuntime = c.realtimeRuntime ? write("cpu", "cpu.rt_runtime_us", num(c.realtimeRuntime)) : undefined;
  out.push(...pair(rtPeriod, rtRuntime, !!c.realtimePeriod && c.realtimePeriod < cur("cpu.rt_runtime_us")));
  return out;
}

function cpuset(r: LinuxResources): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (r.cpu?.cpus) out.push(write("cpuset", "cpuset.cpus", r.cpu.cpus));
  if (r.cpu?.mems) out.push(write("cpuset", "cpuset.mems", r.cpu.mems));
  return out;
}

function blkio(r: LinuxResources, opts: V1WriteOptions): CgroupWrite[] {
  const b = r.blockIO;
  if (!b) return [];
  const bfq = opts.bfq ?? false;
  const out: CgroupWrite[] = [];
  const weightFile = bfq ? "blkio.bfq.weight" : "blkio.weight";
  if (b.weight) out.push(write("blkio", weightFile, num(checkWeight("blockIO.weight", b.weight, bfq))));
  if (b.leafWeight) out.push(write("blkio", "blkio.leaf_weight", num(checkWeight("blockIO.leafWeight", b.leafWeight, false))));
  (b.weightDevice ?? []).forEach((d, i) => {
    const field = `blockIO.weightDevice[${i}]`;
    const dev = devNumbers(field, d);
    if (d.weight) out.push(write("blkio", `${weightFile}_device`, `${dev} ${checkWeight(`${field}.weight`, d.weight, bfq)}`));
    if (d.leafWeight) out.push(write("blkio", "blkio.leaf_weight_device", `${dev} ${checkWeight(`${field}.leafWeight`, d.leafWeight, false)}`));
  });
  const throttles = [
    ["throttleReadBpsDevice", "read_bps_device"],
    ["throttleWriteBpsDevice", "write_bps_device"],
    ["throttleReadIOPSDevice", "read_iops_device"],
    ["throttleWriteIOPSDevice", "write_iops_device"],
  ] as const;
  for (const [field, file] of throttles) {
    // A rate of 0 removes the device's limit.
    (b[field] ?? []).forEach((d, i) => out.push(write("blkio", `blkio.throttle.${file}`, `${devNumbers(`blockIO.${field}[${i}]`, d)} ${num(d.rate ?? 0)}`)));
  }
  return out;
}

function network(r: LinuxResources): CgroupWrite[] {
  const n = r.network;
  if (!n) return [];
  const out: CgroupWrite[] = [];
  if (n.classID) out.push(write("net_cls", "net_cls.classid", num(n.classID)));
  (n.priorities ?? []).forEach((p, i) => {
    if (!/^[^\s]+$/.test(p.name)) throw fieldError(`network.priorities[${i}].name`, p.name, "not an interface name");
    out.push(write("net_prio", "net_prio.ifpriomap", `${p.name} ${num(p.priority)}`));
  });
  return out;
}

/**
 * The writes for linux.resources on cgroup v1, devices apart (v1DeviceWrites). Order:
 * cpuset, memory, cpu, pids, blkio, hugetlb, net_cls, net_prio, rdma; within a controller,
 * dependent files in an order the kernel accepts (see memory() and cpu()).
 */
export function v1Writes(r: LinuxResources, opts: V1WriteOptions = {}): CgroupWrite[] {
  if (r.unified && Object.keys(r.unified).length) {
    throw new BuncError("config", `linux.resources.unified: ${Object.keys(r.unified).join(", ")}: needs cgroup v2 (this container's cgroup is v1)`);
  }
  return [
    ...cpuset(r),
    ...memory(r, opts),
    ...cpu(r, opts),
    ...pidsWrites(r),
    ...blkio(r, opts),
    ...hugetlbWrites(r, opts, opts.hugetlbOnV2 ?? false),
    ...network(r),
    ...rdmaWrites(r),
  ];
}

/**
 * The device rules as devices.deny/devices.allow writes, in order. A new cgroup inherits
 * its parent's access (often everything), so the list starts from deny-all, as runc's
 * does; a leading deny-all of the rules themselves is then not repeated. Written in one go
 * on a running container this briefly denies everything (update).
 */
export function v1DeviceWrites(rules: DeviceRule[]): CgroupWrite[] {
  const out = [write("devices", "devices.deny", "a *:* rwm")];
  for (const r of rules) {
    // "a" ignores the numbers and access: any deny of "a" is deny-all.
    if (out.length === 1 && !r.allow && r.type === "a") continue;
    out.push(write("devices", r.allow ? "devices.allow" : "devices.deny", v1RuleText(r)));
  }
  return out;
}
