// `update [flags] ID` / `update --resources FILE|- ID`: change a container's resource limits,
// with runc's flags and their value syntax: byte sizes as 512m or 1g (binary units, "b"
// and "i" optional, -1 for unlimited), CPU values as plain integers. With --resources the
// JSON (linux.resources fields) is all there is: the other flags are ignored, as with runc.
// Nothing is printed on success.
import { readFileSync } from "node:fs";
import { stringOption } from "../args.ts";
import { BuncError, messageOf } from "../../errors.ts";
import { log } from "../../log.ts";
import type { LinuxResources } from "../../spec/runtime-config.ts";
import { updateContainer } from "../../runtime/update.ts";
import type { CommandContext } from "./context.ts";

const invalid = (flag: string, value: string, why: string) => new BuncError("usage", `invalid value for --${flag}: ${JSON.stringify(value)}: ${why}`);

const UNITS: Record<string, number> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
const INT64_MAX = 2 ** 63 - 1;

/**
 * A byte count as runc reads it: -1, or a decimal number (fractions allowed) with an
 * optional unit k, m, g, t or p (powers of 1024, any case), then optional "i" and "b",
 * maybe after one space: "512m", "1.5GiB", "100 kb", "4096". Fractions of a byte are cut.
 */
export function parseBytes(flag: string, value: string): number {
  if (value === "-1") return -1;
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(value);
  if (!m) throw invalid(flag, value, "not a size such as 512m, 1g or -1 (unlimited)");
  const n = Math.trunc(Number(m[1]) * UNITS[(m[2] ?? "").toLowerCase()]!);
  if (n > INT64_MAX) throw invalid(flag, value, "too large");
  return n;
}

/** An unsigned decimal integer (runc: strconv.ParseUint). */
export function parseUnsigned(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw invalid(flag, value, "not a non-negative integer");
  const n = Number(value);
  if (n > 2 ** 64) throw invalid(flag, value, "too large");
  return n;
}

/** A signed decimal integer (runc: strconv.ParseInt). */
export function parseSigned(flag: string, value: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw invalid(flag, value, "not an integer");
  const n = Number(value);
  if (n > INT64_MAX || n < -(2 ** 63)) throw invalid(flag, value, "out of range");
  return n;
}

/** The flags' values as linux.resources fields; empty values are ignored, as with runc. */
export function resourcesFromFlags(get: (flag: string) => string | undefined): LinuxResources {
  const r: LinuxResources = {};
  const given = (flag: string) => {
    const v = get(flag);
    return v === undefined || v === "" ? undefined : v;
  };
  const memory: NonNullable<LinuxResources["memory"]> = {};
  const cpu: NonNullable<LinuxResources["cpu"]> = {};
  let v: string | undefined;

  if ((v = given("blkio-weight")) !== undefined) {
    const w = parseUnsigned("blkio-weight", v);
    if (w > 65535) throw invalid("blkio-weight", v, "out of range (10 to 1000)");
    if (w !== 0) r.blockIO = { weight: w }; // 0: unchanged, as with runc
  }
  if ((v = given("cpuset-cpus")) !== undefined) cpu.cpus = v;
  if ((v = given("cpuset-mems")) !== undefined) cpu.mems = v;
  if ((v = given("cpu-idle")) !== undefined) cpu.idle = parseSigned("cpu-idle", v);
  if ((v = given("cpu-burst")) !== undefined) cpu.burst = parseUnsigned("cpu-burst", v);
  if ((v = given("cpu-period")) !== undefined) cpu.period = parseUnsigned("cpu-period", v);
  if ((v = given("cpu-rt-period")) !== undefined) cpu.realtimePeriod = parseUnsigned("cpu-rt-period", v);
  if ((v = given("cpu-share")) !== undefined) cpu.shares = parseUnsigned("cpu-share", v);
  if ((v = given("cpu-quota")) !== undefined) cpu.quota = parseSigned("cpu-quota", v);
  if ((v = given("cpu-rt-runtime")) !== undefined) cpu.realtimeRuntime = parseSigned("cpu-rt-runtime", v);
  if ((v = given("memory")) !== undefined) memory.limit = parseBytes("memory", v);
  if ((v = given("memory-swap")) !== undefined) memory.swap = parseBytes("memory-swap", v);
  if ((v = given("memory-reservation")) !== undefined) memory.reservation = parseBytes("memory-reservation", v);
  for (const flag of ["kernel-memory", "kernel-memory-tcp"]) {
    // Checked for form, then dropped: current kernels have no kernel memory limits.
    if ((v = given(flag)) !== undefined) {
      parseBytes(flag, v);
      log("debug", `--${flag} is ignored: kernel memory limits are obsolete`);
    }
  }
  if ((v = given("pids-limit")) !== undefined) r.pids = { limit: parseSigned("pids-limit", v) };
  if (Object.keys(memory).length) r.memory = memory;
  if (Object.keys(cpu).length) r.cpu = cpu;
  return r;
}

async function resourcesFromJson(source: string): Promise<LinuxResources> {
  const name = source === "-" ? "standard input" : source;
  let text: string;
  try {
    text = readFileSync(source === "-" ? 0 : source, "utf8");
  } catch (err) {
    throw new BuncError("usage", `--resources ${name}: cannot read: ${messageOf(err)}`);
  }
  // The schemas are only loaded for this form.
  const [{ parseJsonText }, { checkSchema }, { LinuxResourcesSchema }] = await Promise.all([
    import("../../spec/json-text.ts"),
    import("../../spec/validate-config.ts"),
    import("../../spec/runtime-config.ts"),
  ]);
  const doc = parseJsonText(text, `--resources ${name}`, "usage");
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new BuncError("usage", `--resources ${name}: expected a JSON object of linux.resources fields`);
  }
  try {
    return checkSchema(LinuxResourcesSchema, doc);
  } catch (err) {
    // checkSchema speaks of config.json; here the fields came from this file.
    throw new BuncError("usage", `--resources ${name}: ${messageOf(err).replace(/^config\.json: /, "")}`);
  }
}

// Which flag a failure is about: by the linux.resources field the checks name, or by the
// cgroup file the kernel refused; the first of the flags listed that was given. A field
// checked against its partner (memory+swap against memory) names either.
const FLAG_OF: [RegExp, string[]][] = [
  [/^linux\.resources\.memory\.limit\b|^memory\.(limit_in_bytes|max):/, ["memory", "memory-swap"]],
  [/^linux\.resources\.memory\.swap\b|^memory\.(memsw\.limit_in_bytes|swap\.max):/, ["memory-swap", "memory"]],
  [/^linux\.resources\.memory\.reservation\b|^memory\.(soft_limit_in_bytes|low):/, ["memory-reservation"]],
  [/^linux\.resources\.pids\b|^pids\.max:/, ["pids-limit"]],
  [/^linux\.resources\.cpu\.shares\b|^cpu\.(shares|weight):/, ["cpu-share"]],
  [/^linux\.resources\.cpu\.(quota|period)\b|^cpu\.(cfs_quota_us|cfs_period_us|max):/, ["cpu-quota", "cpu-period"]],
  [/^linux\.resources\.cpu\.burst\b|^cpu\.(cfs_burst_us|max\.burst):/, ["cpu-burst"]],
  [/^linux\.resources\.cpu\.realtime(Period|Runtime)\b|^cpu\.rt_(period|runtime)_us:/, ["cpu-rt-runtime", "cpu-rt-period"]],
  [/^linux\.resources\.cpu\.idle\b|^cpu\.idle:/, ["cpu-idle"]],
  [/^cpuset\.cpus:/, ["cpuset-cpus"]],
  [/^cpuset\.mems:/, ["cpuset-mems"]],
  [/^linux\.resources\.blockIO\.weight\b|^(blkio|io)(\.bfq)?\.weight:/, ["blkio-weight"]],
];

/** The flag (and its value) an error is about, or undefined. */
function flagOf(message: string, given: (flag: string) => string | undefined): string | undefined {
  for (const [re, flags] of FLAG_OF) {
    if (!re.test(message)) continue;
    const flag = flags.find((f) => given(f));
    if (flag) return flag;
  }
  return undefined;
}

const FLAGS = [
  "blkio-weight", "cpu-period", "cpu-quota", "cpu-burst", "cpu-share", "cpu-rt-period", "cpu-rt-runtime", "cpu-idle",
  "cpuset-cpus", "cpuset-mems", "kernel-memory", "kernel-memory-tcp", "memory", "memory-reservation", "memory-swap", "pids-limit",
];

export async function update(ctx: CommandContext): Promise<number> {
  const id = ctx.positionals[0]!;
  const get = (flag: string) => stringOption(ctx.options, flag);
  for (const flag of ["l3-cache-schema", "mem-bw-schema"]) {
    const v = get(flag);
    if (v) throw new BuncError("unsupported", `--${flag} ${JSON.stringify(v)}: unsupported: Intel RDT is not supported by bunc`);
  }
  const file = get("resources");
  if (file !== undefined && file !== "") {
    const ignored = FLAGS.filter((f) => get(f) !== undefined);
    if (ignored.length) log("warning", `with --resources the flags ${ignored.map((f) => `--${f}`).join(", ")} are ignored`);
    updateContainer(ctx.store, id, await resourcesFromJson(file));
    return 0;
  }
  const resources = resourcesFromFlags(get);
  try {
    updateContainer(ctx.store, id, resources);
  } catch (err) {
    if (!(err instanceof BuncError)) throw err;
    const flag = flagOf(err.message, get);
    if (!flag) throw err;
    throw new BuncError(err.code, `--${flag} ${JSON.stringify(get(flag))}: ${err.message}`, err.errno);
  }
  return 0;
}
