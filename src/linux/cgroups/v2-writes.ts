// linux.resources as cgroup v2 file writes, in the order they are to be made. The spec's
// fields are cgroup v1's: here they are converted (shares → weight, memory+swap → swap,
// blkio weight → io weight) as runc does. Each write's controller is the one to enable in
// the parents' cgroup.subtree_control. Pure, like v1-writes.ts (same conventions).
import { BuncError } from "../../errors.ts";
import type { LinuxResources } from "../../spec/runtime-config.ts";
import {
  checkBytes,
  checkWeight,
  currentNumber,
  devNumbers,
  fieldError,
  hugetlbWrites,
  num,
  pidsWrites,
  rdmaWrites,
  withIdle,
  write,
  type WriteOptions,
} from "./v1-writes.ts";
import type { CgroupWrite } from "./writes.ts";

export { hugetlbV2File, hostHugePageSizes, hugePageSizeName, type WriteOptions } from "./v1-writes.ts";

/**
 * cpu.shares (2..262144, default 1024) as cpu.weight (1..10000, default 100); 0 is unset.
 * runc's current mapping (since 1.3.2): a quadratic in log2(shares) through both ends
 * and both defaults, so 2 → 1, 1024 → 100, 262144 → 10000. (The older linear mapping
 * gave 1024 → 39, well under v2's default of 100.) Out-of-range shares are clamped.
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

/** blkio weight (10..1000) as io.weight (1..10000), linearly: 10 → 1, 1000 → 10000. 0 is unset. */
export function blkioToIoWeight(w: number): number {
  if (w === 0) return 0;
  return 1 + Math.floor(((w - 10) * 9999) / 990);
}

/**
 * The spec's swap is memory+swap (v1); memory.swap.max is swap alone. As runc converts it:
 * - limit -1 and swap unset: "max" (both unlimited, as v1 does);
 * - swap -1: "max"; swap unset: nothing;
 * - limit -1: swap as is (memory is unlimited, so swap alone is the limit);
 * - limit unset: an error (nothing to subtract);
 * - otherwise swap − limit, an error when negative; 0 (swap == limit) is written as "0",
 *   no swap at all.
 * Returns the value to write, or undefined for no write.
 */
export function swapMaxValue(swap: number, limit: number): string | undefined {
  if (limit === -1 && swap === 0) return "max";
  if (swap === -1) return "max";
  if (swap === 0) return undefined;
  if (limit === -1) return num(swap);
  if (limit === 0) throw fieldError("memory.swap", swap, "cgroup v2 limits swap apart from memory: memory.limit must be set too");
  if (swap < limit) throw fieldError("memory.swap", swap, `memory+swap must be at least memory.limit (${limit})`);
  return num(swap - limit);
}

const memValue = (v: number) => (v === -1 ? "max" : num(v));

function memory(r: LinuxResources, opts: WriteOptions): CgroupWrite[] {
  const m = r.memory;
  if (!m) return [];
  const log = opts.log ?? (() => {});
  const limit = checkBytes("memory.limit", m.limit);
  const swap = checkBytes("memory.swap", m.swap);
  const reservation = checkBytes("memory.reservation", m.reservation);
  const out: CgroupWrite[] = [];
  const swapMax = swapMaxValue(swap, limit);
  if (swapMax !== undefined) {
    if (opts.swapAccounting ?? true) out.push(write("memory", "memory.swap.max", swapMax));
    // Without swap there is nothing to leave unlimited or to switch off.
    else if (swapMax === "max" || swapMax === "0") log(`memory.swap.max ${swapMax} not written: this host does not account swap`);
    else throw fieldError("memory.swap", swap, "this host does not account swap (no memory.swap.max)");
  }
  if (limit) out.push(write("memory", "memory.max", memValue(limit)));
  if (reservation) out.push(write("memory", "memory.low", memValue(reservation)));
  if (m.kernel !== undefined) log("memory.kernel is ignored by current kernels");
  if (m.kernelTCP !== undefined) log("memory.kernelTCP is ignored on cgroup v2 (TCP buffers count as memory)");
  if (m.swappiness !== undefined) log("memory.swappiness is ignored on cgroup v2");
  if (m.disableOOMKiller) log("memory.disableOOMKiller is ignored on cgroup v2 (no way to turn the OOM killer off)");
  if (m.useHierarchy === false) log("memory.useHierarchy false is ignored: cgroup v2 is always hierarchical");
  return out;
}

function cpu(r: LinuxResources, opts: WriteOptions): CgroupWrite[] {
  const c = r.cpu;
  if (!c) return [];
  if (c.realtimePeriod) throw fieldError("cpu.realtimePeriod", c.realtimePeriod, "needs cgroup v1 (cgroup v2 has no real-time group scheduling)");
  if (c.realtimeRuntime) throw fieldError("cpu.realtimeRuntime", c.realtimeRuntime, "needs cgroup v1 (cgroup v2 has no real-time group scheduling)");
  const rest: CgroupWrite[] = [];
  const weight = sharesToWeight(c.shares ?? 0);
  if (weight) rest.push(write("cpu", "cpu.weight", String(weight)));
  // cpu.max is "QUOTA PERIOD"; a lone QUOTA keeps the period. A lone period keeps the
  // current quota, unlimited when unknown. Quota 0 is unset; below 0 is unlimited.
  const quota = c.quota ?? 0;
  const period = c.period ?? 0;
  let max: CgroupWrite | undefined;
  if (quota || period) {
    const q = quota > 0 ? num(quota) : quota < 0 ? "max" : (opts.current?.("cpu.max")?.trim().split(/\s+/)[0] ?? "max");
    max = write("cpu", "cpu.max", period ? `${q} ${num(period)}` : q);
  }
  // The burst must not exceed the quota: it follows cpu.max unless it is being lowered.
  const burst = c.burst !== undefined ? write("cpu", "cpu.max.burst", num(c.burst)) : undefined;
  const burstFirst = c.burst !== undefined && c.burst < currentNumber(opts.current?.("cpu.max.burst"), 0);
  rest.push(...(burstFirst ? [burst, max] : [max, burst]).filter((w): w is CgroupWrite => !!w));
  return withIdle(c.idle !== undefined ? write("cpu", "cpu.idle", num(c.idle)) : undefined, rest);
}

function cpuset(r: LinuxResources): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (r.cpu?.cpus) out.push(write("cpuset", "cpuset.cpus", r.cpu.cpus));
  if (r.cpu?.mems) out.push(write("cpuset", "cpuset.mems", r.cpu.mems));
  return out;
}

function io(r: LinuxResources, opts: WriteOptions): CgroupWrite[] {
  const b = r.blockIO;
  if (!b) return [];
  const log = opts.log ?? (() => {});
  const bfq = opts.bfq ?? false;
  const out: CgroupWrite[] = [];
  // BFQ takes blkio's 1..1000 as is; io.weight (iocost) is 1..10000.
  if (b.weight) {
    const w = checkWeight("blockIO.weight", b.weight, bfq);
    out.push(bfq ? write("io", "io.bfq.weight", num(w)) : write("io", "io.weight", `default ${blkioToIoWeight(w)}`));
  }
  if (b.leafWeight) log("blockIO.leafWeight is ignored on cgroup v2");
  (b.weightDevice ?? []).forEach((d, i) => {
    const field = `blockIO.weightDevice[${i}]`;
    const dev = devNumbers(field, d);
    if (d.weight) {
      const w = checkWeight(`${field}.weight`, d.weight, bfq);
      out.push(bfq ? write("io", "io.bfq.weight", `${dev} ${w}`) : write("io", "io.weight", `${dev} ${blkioToIoWeight(w)}`));
    }
    if (d.leafWeight) log(`${field}.leafWeight is ignored on cgroup v2`);
  });
  const throttles = [
    ["throttleReadBpsDevice", "rbps"],
    ["throttleWriteBpsDevice", "wbps"],
    ["throttleReadIOPSDevice", "riops"],
    ["throttleWriteIOPSDevice", "wiops"],
  ] as const;
  for (const [field, key] of throttles) {
    // v1's rate 0 removes the limit; io.max refuses 0 and says "max" for that.
    (b[field] ?? []).forEach((d, i) => {
      const rate = d.rate ? num(d.rate) : "max";
      out.push(write("io", "io.max", `${devNumbers(`blockIO.${field}[${i}]`, d)} ${key}=${rate}`));
    });
  }
  return out;
}

/** net_cls and net_prio are v1 controllers: asking for them on v2 is an error (runc ignores). */
function network(r: LinuxResources): void {
  const n = r.network;
  if (n?.classID) throw fieldError("network.classID", n.classID, "net_cls needs cgroup v1");
  if (n?.priorities?.length) throw fieldError("network.priorities", n.priorities, "net_prio needs cgroup v1");
}

/**
 * unified: each key is a file of the container's cgroup, written verbatim, after every
 * typed field (so a key naming the same file as a typed field wins). The key must be a
 * plain "controller.parameter" file name; its controller is the part before the first
 * dot ("cgroup.*" files need none: nothing lists "cgroup" as available). A value of
 * several lines is written line by line, as the kernel takes one entry per write.
 */
function unified(r: LinuxResources): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  for (const [key, value] of Object.entries(r.unified ?? {})) {
    const dot = key.indexOf(".");
    if (key.includes("/") || key.includes("..") || key.includes("\0") || dot <= 0 || dot === key.length - 1) {
      throw new BuncError("config", `linux.resources.unified[${JSON.stringify(key)}]: must be a file name such as "memory.high"`);
    }
    const controller = key.slice(0, dot);
    const lines = value.includes("\n") ? value.split("\n").filter((l) => l.trim() !== "") : [value];
    for (const line of lines) out.push(write(controller, key, line));
  }
  return out;
}

/**
 * The writes for linux.resources on cgroup v2, devices apart (an eBPF program there).
 * Order: pids, memory, io, cpu, cpuset, hugetlb, rdma, then unified.
 */
export function v2Writes(r: LinuxResources, opts: WriteOptions = {}): CgroupWrite[] {
  network(r);
  return [
    ...pidsWrites(r),
    ...memory(r, opts),
    ...io(r, opts),
    ...cpu(r, opts),
    ...cpuset(r),
    ...hugetlbWrites(r, opts, true),
    ...rdmaWrites(r),
    ...unified(r),
  ];
}
