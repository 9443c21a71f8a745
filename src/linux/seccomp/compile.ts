// runtime-spec linux.seccomp → a classic BPF program for seccomp(SECCOMP_SET_MODE_FILTER),
// without libseccomp. The program:
//
//   1. loads seccomp_data.arch and jumps to the section of that AUDIT_ARCH; an arch that is
//      neither listed nor native gets KILL_PROCESS (libseccomp's "bad arch" action is
//      KILL_THREAD; killing the whole process leaves no half-dead container behind);
//   2. in a section, loads nr and walks a binary tree of `jge` over the 32-bit syscall
//      numbers, down to a leaf that returns an action or tests arguments. Neighbouring
//      numbers with the same outcome share a leaf, so the tree stays small.
//
// x86_64 and x32 share AUDIT_ARCH_X86_64: x32 numbers have bit 30 set. The section splits the
// number space there, and a half whose ABI is not listed gets the bad-arch action, so a
// filter for x86_64 cannot be bypassed with x32 numbers. nr == -1 (a tracer skipping the
// syscall) gets the default action, as with libseccomp.
//
// Numbers above the highest one the syscall table knows for an arch get ERRNO(ENOSYS) unless
// the default action lets calls through (ALLOW, LOG, TRACE): a syscall newer than bunc's table
// then looks unimplemented, and libc falls back to an older one instead of failing on EPERM.
// Numbers the table knows but the profile does not name still get the default action.
//
// Rules for one syscall: rules with args are tried first, in config order, the first whose
// conditions all hold wins; then the first rule without args; then the default action. As
// runc does, a rule that tests the same argument index twice is split into one rule per
// condition (they are ORed), and names a table does not know are skipped for that arch.
// On 32-bit ABIs (and x32, like libseccomp) only the low 32 bits of arguments are compared.
import { configError } from "../../errors.ts";
import type { LinuxSeccomp } from "../../spec/runtime-config.ts";
import {
  argOffsets,
  Assembler,
  AUDIT_ARCH_64BIT,
  AUDIT_ARCH_LE,
  BPF_MAXINSNS,
  encodeProgram,
  type JumpOp,
  type Label,
  OP,
  SECCOMP_DATA,
  SECCOMP_RET,
} from "./bpf.ts";
import * as tables from "./tables/index.ts";
import type { SeccompArch } from "./tables/index.ts";

/** What the compiler needs from the syscall tables; the real module by default. */
export interface SyscallLookup {
  AUDIT_ARCH: Readonly<Record<SeccompArch, number>>;
  syscallNumber(arch: SeccompArch, name: string): number | undefined;
  maxSyscallNumber(arch: SeccompArch): number | undefined;
  nativeArch(): SeccompArch;
}

export interface CompileOptions {
  lookup?: SyscallLookup;
  nativeArch?: SeccompArch;
}

export interface CompiledSeccomp {
  /** struct sock_filter[] in host byte order, ready for struct sock_fprog. */
  program: Buffer;
  instructions: number;
  /** SECCOMP_FILTER_FLAG_* bits for seccomp(2). */
  flags: number;
  /** A rule uses SCMP_ACT_NOTIFY: the filter returns a listener fd (NEW_LISTENER is set). */
  needsListener: boolean;
  /** Syscall names no listed arch's table knows, in config order. */
  skipped: string[];
}

export const SECCOMP_FILTER_FLAG = {
  TSYNC: 1,
  LOG: 2,
  SPEC_ALLOW: 4,
  NEW_LISTENER: 8,
  TSYNC_ESRCH: 16,
  WAIT_KILLABLE_RECV: 32,
} as const;

/** The flags config.json may name. */
export const SECCOMP_FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: SECCOMP_FILTER_FLAG.TSYNC,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV,
};

export const SECCOMP_ACTIONS = [
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",
] as const;

export const SECCOMP_OPERATORS = [
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
] as const;
type Operator = (typeof SECCOMP_OPERATORS)[number];

const EPERM = 1;
const ENOSYS_RET = (SECCOMP_RET.ERRNO | 38) >>> 0;
const X32_SYSCALL_BIT = 0x40000000;
const BAD_ARCH = SECCOMP_RET.KILL_PROCESS;
const U32 = 0xffffffff;
const U64_MAX = (1n << 64n) - 1n;

interface Condition {
  index: number;
  op: Operator;
  value: bigint;
  valueTwo: bigint;
}
interface Rule {
  names: string[];
  action: number;
  conditions: Condition[];
}
/** What a syscall number leads to: a plain return, or argument tests. */
type Outcome = { ret: number } | { conditional: Rule[]; fallback: number };
interface Segment {
  start: number;
  outcome: Outcome;
}

export function compileSeccomp(seccomp: LinuxSeccomp, opts: CompileOptions = {}): CompiledSeccomp {
  const lookup = opts.lookup ?? tables;
  const native = opts.nativeArch ?? lookup.nativeArch();
  const field = "linux.seccomp";

  if (seccomp.listenerMetadata !== undefined && seccomp.listenerPath === undefined)
    throw configError(`${field}.listenerMetadata`, "set without listenerPath");
  if (seccomp.defaultAction === "SCMP_ACT_NOTIFY")
    throw configError(`${field}.defaultAction`, "SCMP_ACT_NOTIFY cannot be the default action");
  const defaultAction = actionWord(
    seccomp.defaultAction,
    seccomp.defaultErrnoRet,
    `${field}.defaultAction`,
    `${field}.defaultErrnoRet`,
  );

  const rules = (seccomp.syscalls ?? []).flatMap((rule, i) => parseRule(rule, `${field}.syscalls[${i}]`));
  const needsListener = (seccomp.syscalls ?? []).some((rule) => rule.action === "SCMP_ACT_NOTIFY");
  if (needsListener && !seccomp.listenerPath)
    throw configError(`${field}.listenerPath`, "required when a rule uses SCMP_ACT_NOTIFY");

  const flags = filterFlags(seccomp.flags ?? [], needsListener, field);
  const arches = listedArches(seccomp.architectures ?? [], native, lookup, field);
  const enosys = !isPermissive(defaultAction);

  const asm = new Assembler();
  const sections = groupByAudit(arches, lookup);
  asm.load(SECCOMP_DATA.arch);
  const targets = sections.map(() => asm.label());
  sections.forEach((section, i) => {
    const next = asm.label();
    asm.jump(OP.JEQ_K, section.audit, targets[i]!, next);
    asm.place(next);
  });
  asm.ret(BAD_ARCH);

  const known = new Set<string>();
  sections.forEach((section, i) => {
    asm.place(targets[i]!);
    asm.load(SECCOMP_DATA.nr);
    const segments = sectionSegments(section, rules, defaultAction, enosys, lookup, known);
    const x32 = section.abis.some((abi) => abi.arch === "SCMP_ARCH_X32");
    const shape = {
      littleEndian: (section.audit & AUDIT_ARCH_LE) !== 0,
      wide: section.wide,
      narrowFrom: x32 ? X32_SYSCALL_BIT : Infinity,
    };
    emitTree(asm, merge(segments), shape);
  });

  const insns = asm.assemble();
  if (insns.length > BPF_MAXINSNS)
    throw configError(
      field,
      `the filter needs ${insns.length} BPF instructions, more than the kernel's ${BPF_MAXINSNS}`,
    );
  const skipped = [...new Set(rules.flatMap((rule) => rule.names))].filter((name) => !known.has(name));
  return { program: encodeProgram(insns), instructions: insns.length, flags, needsListener, skipped };
}

// --- config → rules -----------------------------------------------------------------------

function actionWord(name: string, errnoRet: number | undefined, field: string, errnoField: string): number {
  if (!(SECCOMP_ACTIONS as readonly string[]).includes(name))
    throw configError(field, `unknown action ${JSON.stringify(name)}`);
  // The spec: an errno given to an action that returns none is an error.
  if (errnoRet !== undefined && name !== "SCMP_ACT_ERRNO" && name !== "SCMP_ACT_TRACE")
    throw configError(errnoField, `${name} takes no errno`);
  const data = () => {
    const value = errnoRet ?? EPERM;
    if (!Number.isInteger(value) || value < 0 || value > SECCOMP_RET.DATA)
      throw configError(errnoField, `${value} does not fit in the 16 bits of SECCOMP_RET_DATA`);
    return value;
  };
  switch (name) {
    case "SCMP_ACT_KILL": // libseccomp's old name for KILL_THREAD
    case "SCMP_ACT_KILL_THREAD":
      return SECCOMP_RET.KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS":
      return SECCOMP_RET.KILL_PROCESS;
    case "SCMP_ACT_TRAP":
      return SECCOMP_RET.TRAP;
    case "SCMP_ACT_ERRNO":
      return (SECCOMP_RET.ERRNO | data()) >>> 0;
    case "SCMP_ACT_TRACE": // runc hands the tracer EPERM unless told otherwise
      return (SECCOMP_RET.TRACE | data()) >>> 0;
    case "SCMP_ACT_ALLOW":
      return SECCOMP_RET.ALLOW;
    case "SCMP_ACT_LOG":
      return SECCOMP_RET.LOG;
    case "SCMP_ACT_NOTIFY":
      return SECCOMP_RET.USER_NOTIF;
  }
  throw configError(field, `unknown action ${JSON.stringify(name)}`);
}

type SpecRule = NonNullable<LinuxSeccomp["syscalls"]>[number];

function parseRule(rule: SpecRule, field: string): Rule[] {
  const names = rule.names as unknown;
  if (!Array.isArray(names) || names.length === 0)
    throw configError(`${field}.names`, "must name at least one syscall");
  names.forEach((name, i) => {
    if (typeof name !== "string" || name === "") throw configError(`${field}.names[${i}]`, "empty syscall name");
  });
  const action = actionWord(rule.action, rule.errnoRet, `${field}.action`, `${field}.errnoRet`);
  // The listener reaches its agent through sendmsg(2) after the filter is in: notifying on
  // sendmsg would wait for an agent that has no listener yet (runc refuses write likewise).
  if (rule.action === "SCMP_ACT_NOTIFY" && names.includes("sendmsg"))
    throw configError(`${field}.names`, "SCMP_ACT_NOTIFY on sendmsg cannot work: it hands the listener to the agent");
  const conditions = (rule.args ?? []).map((arg, j): Condition => {
    const at = `${field}.args[${j}]`;
    if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5)
      throw configError(`${at}.index`, `${arg.index} is not an argument index (0 to 5)`);
    if (!(SECCOMP_OPERATORS as readonly string[]).includes(arg.op))
      throw configError(`${at}.op`, `unknown operator ${JSON.stringify(arg.op)}`);
    return {
      index: arg.index,
      op: arg.op as Operator,
      value: u64(arg.value, `${at}.value`),
      valueTwo: u64(arg.valueTwo ?? 0, `${at}.valueTwo`),
    };
  });
  const indexes = conditions.map((c) => c.index);
  if (new Set(indexes).size === indexes.length) return [{ names, action, conditions }];
  return conditions.map((condition) => ({ names, action, conditions: [condition] }));
}

// JSON numbers past 2^53 arrive rounded; the largest uint64 reads as 2^64, which means 2^64-1.
function u64(value: number, field: string): bigint {
  if (!Number.isInteger(value) || value < 0 || value > 2 ** 64) throw configError(field, `${value} is not a uint64`);
  const big = BigInt(value);
  return big > U64_MAX ? U64_MAX : big;
}

function filterFlags(names: readonly string[], needsListener: boolean, field: string): number {
  let flags = 0;
  names.forEach((name, i) => {
    if (!Object.hasOwn(SECCOMP_FLAGS, name))
      throw configError(`${field}.flags[${i}]`, `unknown flag ${JSON.stringify(name)}`);
    flags |= SECCOMP_FLAGS[name]!;
  });
  if (needsListener) {
    flags |= SECCOMP_FILTER_FLAG.NEW_LISTENER;
    // The kernel refuses TSYNC with a listener unless a failed sync may return ESRCH.
    if (flags & SECCOMP_FILTER_FLAG.TSYNC) flags |= SECCOMP_FILTER_FLAG.TSYNC_ESRCH;
  } else {
    // Without a listener the kernel refuses this flag (EINVAL); it has nothing to act on.
    flags &= ~SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV;
  }
  return flags;
}

function isPermissive(action: number): boolean {
  const kind = (action & 0xffff0000) >>> 0;
  return kind === SECCOMP_RET.ALLOW || kind === SECCOMP_RET.LOG || kind === SECCOMP_RET.TRACE;
}

// --- architectures ------------------------------------------------------------------------

function listedArches(names: readonly string[], native: SeccompArch, lookup: SyscallLookup, field: string) {
  names.forEach((name, i) => {
    if (!Object.hasOwn(lookup.AUDIT_ARCH, name) || typeof lookup.AUDIT_ARCH[name as SeccompArch] !== "number")
      throw configError(`${field}.architectures[${i}]`, `unknown architecture ${JSON.stringify(name)}`);
  });
  // The native arch is always filtered, as libseccomp does.
  return [...new Set([native, ...(names as SeccompArch[])])];
}

interface Section {
  audit: number;
  /** The ABIs under this AUDIT_ARCH with their share of the 32-bit number space. */
  abis: { arch: SeccompArch; lo: number; hi: number }[];
  /** Arguments are compared on 64 bits. */
  wide: boolean;
  x86_64Listed: boolean;
}

function groupByAudit(arches: SeccompArch[], lookup: SyscallLookup): Section[] {
  const byAudit = new Map<number, SeccompArch[]>();
  for (const arch of arches) {
    const audit = lookup.AUDIT_ARCH[arch] >>> 0;
    byAudit.set(audit, [...(byAudit.get(audit) ?? []), arch]);
  }
  return [...byAudit].map(([audit, members]): Section => {
    const x32 = members.includes("SCMP_ARCH_X32" as SeccompArch);
    const x86_64 = members.includes("SCMP_ARCH_X86_64" as SeccompArch);
    if (members.length > 1 && !(members.length === 2 && x32 && x86_64))
      throw configError(
        "linux.seccomp.architectures",
        `${members.join(" and ")} share AUDIT_ARCH 0x${audit.toString(16)}`,
      );
    const shared = x32 || x86_64;
    const abis = members.map((arch) =>
      !shared
        ? { arch, lo: 0, hi: U32 }
        : arch === "SCMP_ARCH_X32"
          ? { arch, lo: X32_SYSCALL_BIT, hi: U32 }
          : { arch, lo: 0, hi: X32_SYSCALL_BIT - 1 },
    );
    // 64-bit ABIs compare whole arguments; n32 ABIs have 32-bit ones, and so has x32, as
    // libseccomp treats it (see Shape.narrowFrom).
    const wide = (audit & AUDIT_ARCH_64BIT) !== 0 && !members[0]!.endsWith("N32");
    return { audit, abis, wide, x86_64Listed: x86_64 };
  });
}

// --- number space → outcomes --------------------------------------------------------------

function sectionSegments(
  section: Section,
  rules: Rule[],
  defaultAction: number,
  enosys: boolean,
  lookup: SyscallLookup,
  known: Set<string>,
): Segment[] {
  const segments: Segment[] = [];
  const ret = (k: number): Outcome => ({ ret: k });
  // Parts of the space no listed ABI owns: only the x86_64/x32 halves can be missing.
  const owned = section.abis.slice().sort((a, b) => a.lo - b.lo);
  let cursor = 0;
  for (const abi of owned) {
    if (abi.lo > cursor) segments.push({ start: cursor, outcome: ret(BAD_ARCH) });
    segments.push(...abiSegments(abi, rules, defaultAction, enosys, lookup, known));
    cursor = abi.hi + 1;
  }
  if (cursor <= U32) segments.push({ start: cursor, outcome: ret(BAD_ARCH) });
  // A tracer skips a syscall by setting nr to -1: give it the default action, not bad-arch.
  if (section.x86_64Listed) {
    const last = segments[segments.length - 1]!;
    if (last.start === U32) last.outcome = ret(defaultAction);
    else segments.push({ start: U32, outcome: ret(defaultAction) });
  }
  return segments;
}

function abiSegments(
  abi: { arch: SeccompArch; lo: number; hi: number },
  rules: Rule[],
  defaultAction: number,
  enosys: boolean,
  lookup: SyscallLookup,
  known: Set<string>,
): Segment[] {
  const inRange = (nr: number) => nr >= abi.lo && nr <= abi.hi;
  const fix = (nr: number) => (abi.arch === "SCMP_ARCH_X32" ? (nr | X32_SYSCALL_BIT) >>> 0 : nr >>> 0);

  // Per syscall number: its conditional rules in config order, then its first plain rule.
  const bySyscall = new Map<number, { conditional: Rule[]; fallback?: number }>();
  for (const rule of rules) {
    for (const name of rule.names) {
      const raw = lookup.syscallNumber(abi.arch, name);
      if (raw === undefined) continue;
      known.add(name);
      const nr = fix(raw);
      if (!inRange(nr)) continue;
      const entry = bySyscall.get(nr) ?? { conditional: [] };
      bySyscall.set(nr, entry);
      if (rule.conditions.length > 0) entry.conditional.push(rule);
      else entry.fallback ??= rule.action;
    }
  }

  const rawMax = enosys ? lookup.maxSyscallNumber(abi.arch) : undefined;
  const max = rawMax === undefined ? undefined : fix(rawMax);
  // s390 routes syscall numbers it does not know to 0 (the long-gone setup(2)); runc
  // answers ENOSYS there too, so unknown syscalls behave the same way.
  if (max !== undefined && (abi.arch === "SCMP_ARCH_S390" || abi.arch === "SCMP_ARCH_S390X"))
    bySyscall.set(0, { conditional: [], fallback: ENOSYS_RET });

  // Numbers no rule names: the default action up to the table's highest, ENOSYS past it.
  const segments: Segment[] = [];
  const lastKnown = max ?? abi.hi;
  const gap = (from: number, to: number) => {
    if (from <= Math.min(to, lastKnown)) segments.push({ start: from, outcome: { ret: defaultAction } });
    if (to > lastKnown) segments.push({ start: Math.max(from, lastKnown + 1), outcome: { ret: ENOSYS_RET } });
  };
  let cursor = abi.lo;
  for (const nr of [...bySyscall.keys()].sort((a, b) => a - b)) {
    gap(cursor, nr - 1);
    segments.push({ start: nr, outcome: outcomeOf(bySyscall.get(nr)!, defaultAction) });
    cursor = nr + 1;
  }
  gap(cursor, abi.hi);
  return segments;
}

function outcomeOf(entry: { conditional: Rule[]; fallback?: number }, defaultAction: number): Outcome {
  const fallback = entry.fallback ?? defaultAction;
  // Trailing conditional rules that end where a miss ends anyway change nothing.
  const conditional = entry.conditional.slice();
  while (conditional.length > 0 && conditional[conditional.length - 1]!.action === fallback) conditional.pop();
  return conditional.length === 0 ? { ret: fallback } : { conditional, fallback };
}

/** Joins neighbouring segments that return the same thing. */
function merge(segments: Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const seg of segments) {
    const prev = out[out.length - 1];
    if (prev && "ret" in prev.outcome && "ret" in seg.outcome && prev.outcome.ret === seg.outcome.ret) continue;
    out.push(seg);
  }
  return out;
}

// --- code generation ----------------------------------------------------------------------

interface Shape {
  littleEndian: boolean;
  wide: boolean;
  /** Numbers from here on take 32-bit arguments: x32's, in the x86_64 section. */
  narrowFrom: number;
}

// Binary search over segment starts; A holds nr. Leaves may clobber A: nothing follows them.
function emitTree(asm: Assembler, segments: Segment[], shape: Shape): void {
  const walk = (lo: number, hi: number) => {
    if (lo === hi) return emitOutcome(asm, segments[lo]!, shape);
    const mid = (lo + hi + 1) >> 1;
    const right = asm.label();
    const left = asm.label();
    asm.jump(OP.JGE_K, segments[mid]!.start, right, left);
    asm.place(left);
    walk(lo, mid - 1);
    asm.place(right);
    walk(mid, hi);
  };
  walk(0, segments.length - 1);
}

function emitOutcome(asm: Assembler, segment: Segment, shape: Shape): void {
  const outcome = segment.outcome;
  if ("ret" in outcome) return asm.ret(outcome.ret);
  const wide = shape.wide && segment.start < shape.narrowFrom;
  for (const rule of outcome.conditional) {
    const nextRule = asm.label();
    for (const condition of rule.conditions) {
      const pass = asm.label();
      emitCondition(asm, condition, { ...shape, wide }, pass, nextRule);
      asm.place(pass);
    }
    asm.ret(rule.action);
    asm.place(nextRule);
  }
  asm.ret(outcome.fallback);
}

// `swap`: the jump is taken when the condition fails.
const JUMP: Record<Exclude<Operator, "SCMP_CMP_MASKED_EQ">, { code: JumpOp; swap: boolean }> = {
  SCMP_CMP_EQ: { code: OP.JEQ_K, swap: false },
  SCMP_CMP_NE: { code: OP.JEQ_K, swap: true },
  SCMP_CMP_GT: { code: OP.JGT_K, swap: false },
  SCMP_CMP_GE: { code: OP.JGE_K, swap: false },
  SCMP_CMP_LT: { code: OP.JGE_K, swap: true },
  SCMP_CMP_LE: { code: OP.JGT_K, swap: true },
};

/** Jumps to `pass` when the 64-bit (or 32-bit) comparison holds, else to `fail`. */
function emitCondition(asm: Assembler, c: Condition, shape: Shape, pass: Label, fail: Label): void {
  const at = argOffsets(c.index, shape.littleEndian);
  const split = (v: bigint) => ({ hi: Number(v >> 32n), lo: Number(v & 0xffffffffn) });
  const next = () => asm.label();

  if (c.op === "SCMP_CMP_MASKED_EQ") {
    const mask = split(c.value);
    const want = split(c.valueTwo);
    if (shape.wide && (mask.hi !== 0 || want.hi !== 0)) {
      const lo = next();
      asm.load(at.hi);
      asm.and(mask.hi);
      asm.jump(OP.JEQ_K, want.hi, lo, fail);
      asm.place(lo);
    }
    asm.load(at.lo);
    asm.and(mask.lo);
    asm.jump(OP.JEQ_K, want.lo, pass, fail);
    return;
  }

  const { code, swap } = JUMP[c.op];
  const v = split(c.value);
  const [yes, no] = swap ? [fail, pass] : [pass, fail];
  if (shape.wide) {
    // High words decide unless they are equal; then the low words do, unsigned.
    const equalHigh = next();
    asm.load(at.hi);
    if (c.op === "SCMP_CMP_EQ" || c.op === "SCMP_CMP_NE") {
      asm.jump(OP.JEQ_K, v.hi, equalHigh, no);
    } else {
      // GT/GE: a greater high word passes; LT/LE (swapped): it fails.
      const notGreater = next();
      asm.jump(OP.JGT_K, v.hi, yes, notGreater);
      asm.place(notGreater);
      asm.jump(OP.JEQ_K, v.hi, equalHigh, no);
    }
    asm.place(equalHigh);
  }
  asm.load(at.lo);
  asm.jump(code, v.lo, yes, no);
}
