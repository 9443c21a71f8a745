// `update`, library side: change a live container's cgroup limits and keep its recorded
// config in step, so `state` and later updates see the values in force.
//
// Only what the update names is written, plus the values the kernel checks it against:
// memory.limit with memory.swap (memory+swap ≥ memory; v2's memory.swap.max is their
// difference) and cpu.quota with cpu.period (v2 writes them as one line). The other half
// comes from the recorded config. The order of dependent writes is chosen from what the
// cgroup files hold now. Device rules are written only when the update has some (runc's
// update never touches devices; bunc applies them, replacing the recorded list).
//
// When a write fails midway, the fields already written are put back to their recorded
// values (best effort) and the record is left as it was.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BuncError, messageOf } from "../errors.ts";
import type { CgroupRecord } from "../linux/cgroups/cgroup.ts";
import { applyResources } from "./container-cgroup.ts";
import { log } from "../log.ts";
import type { LinuxResources } from "../spec/runtime-config.ts";
import { loadContainer, type Container } from "./container.ts";
import type { StateStore } from "./state-store.ts";

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);

/** `over` laid onto `base`: objects merge key by key, anything else (arrays too) replaces. */
export function mergeResources<T>(base: T, over: unknown): T {
  if (!isPlain(base) || !isPlain(over)) return (over === undefined ? base : over) as T;
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) if (v !== undefined) out[k] = mergeResources(base[k], v);
  return out as T;
}

/** The parts of `from` at the places `shape` has (its keys, recursively into objects). */
function sameFields(from: unknown, shape: unknown): unknown {
  if (!isPlain(shape) || !isPlain(from)) return from;
  const out: Plain = {};
  for (const k of Object.keys(shape)) {
    if (from[k] !== undefined) out[k] = sameFields(from[k], shape[k]);
  }
  return out;
}

/**
 * What to write for `update` on top of `recorded`: the update itself, with the partners of
 * memory.limit/swap and cpu.quota/period filled in from the record. An unlimited memory
 * with nothing said about swap makes swap unlimited too (else the old memory+swap limit
 * would still cap memory), as runc does.
 */
export function resourcesToWrite(recorded: LinuxResources, update: LinuxResources): LinuxResources {
  const out = structuredClone(update);
  const m = out.memory;
  if (m && (m.limit !== undefined || m.swap !== undefined)) {
    if (m.limit === -1 && m.swap === undefined) m.swap = -1;
    m.limit ??= recorded.memory?.limit;
    m.swap ??= recorded.memory?.swap;
  }
  const c = out.cpu;
  if (c && (c.quota !== undefined || c.period !== undefined)) {
    c.quota ??= recorded.cpu?.quota;
    c.period ??= recorded.cpu?.period;
  }
  return dropUndefined(out) as LinuxResources;
}

function dropUndefined(v: unknown): unknown {
  if (!isPlain(v)) return v;
  const out: Plain = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = dropUndefined(x);
  return out;
}

/** The controller whose directory holds a v1 file ("memory.limit_in_bytes" → memory). */
const controllerOf = (file: string) => file.slice(0, file.indexOf("."));

/** Reads a file of the container's cgroup, for the writers' ordering decisions. */
function currentReader(record: CgroupRecord): (file: string) => string | undefined {
  return (file) => {
    const dir = record.version === "v2" ? record.dirs.unified : record.dirs[controllerOf(file)];
    if (!dir) return undefined;
    try {
      return readFileSync(join(dir, file), "utf8");
    } catch {
      return undefined;
    }
  };
}

/** Write `resources` to a live cgroup; device rules only when the update names some. */
function writeResources(record: CgroupRecord, resources: LinuxResources): void {
  applyResources(record, resources, { current: currentReader(record), skipDevices: !resources.devices });
}

/** v1 refuses a memory limit below what is in use with EBUSY: say so, with the numbers. */
function explain(err: unknown, cgroup: CgroupRecord): unknown {
  if (!(err instanceof BuncError) || !/^memory\.limit_in_bytes: .*: ebusy/.test(err.message)) return err;
  const read = currentReader(cgroup);
  const usage = read("memory.usage_in_bytes")?.trim() ?? "?";
  const peak = read("memory.max_usage_in_bytes")?.trim() ?? "?";
  return new BuncError(err.code, `${err.message}: the container uses more memory than that (usage ${usage}, peak ${peak})`, err.errno);
}

/** Whether an update would write anything at all (an empty one is allowed, as with runc). */
const isEmpty = (r: LinuxResources) => Object.keys(r).length === 0;

/**
 * Apply `update` (fields as in linux.resources) to container `id` and record the result.
 * The container must be created, running or paused.
 */
export function updateContainer(store: StateStore, id: string, update: LinuxResources): Container {
  const c = loadContainer(store, id);
  if (c.status !== "created" && c.status !== "running" && c.status !== "paused") {
    throw new BuncError("state", `cannot update container "${id}": it is ${c.status}`);
  }
  const cgroup = c.record.cgroup;
  if (!cgroup) throw new BuncError("state", `cannot update container "${id}": it has no cgroup`);
  const config = c.record.config;
  const recorded: LinuxResources = config.linux?.resources ?? {};
  const toWrite = resourcesToWrite(recorded, update);
  if (!isEmpty(toWrite)) {
    try {
      writeResources(cgroup, toWrite);
    } catch (err) {
      const restore = sameFields(recorded, toWrite) as LinuxResources;
      try {
        if (!isEmpty(restore)) writeResources(cgroup, restore);
      } catch (again) {
        log("warning", `update of container "${id}" failed and its old limits could not all be restored: ${messageOf(again)}`);
      }
      throw explain(err, cgroup);
    }
  }
  const resources = mergeResources(recorded, toWrite);
  c.record.config = { ...config, linux: { ...config.linux, resources } };
  store.write(c.record);
  return c;
}
