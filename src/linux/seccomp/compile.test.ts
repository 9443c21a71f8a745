import { describe, expect, test } from "bun:test";
import type { LinuxSeccomp } from "../../spec/runtime-config.ts";
import { Assembler, decodeProgram, encodeProgram, OP, SECCOMP_RET, verifyProgram } from "./bpf.ts";
import { runFilter } from "./bpf-interpreter.ts";
import { compileSeccomp, SECCOMP_FILTER_FLAG, type SyscallLookup } from "./compile.ts";
import { defaultSeccompProfile } from "./default-profile.ts";
import * as realTables from "./tables/index.ts";
import type { SeccompArch } from "./tables/index.ts";

// --- a small stand-in for the syscall tables ------------------------------------------------

const AUDIT = {
  SCMP_ARCH_X86_64: 0xc000003e,
  SCMP_ARCH_X32: 0xc000003e,
  SCMP_ARCH_X86: 0x40000003,
  SCMP_ARCH_AARCH64: 0xc00000b7,
  SCMP_ARCH_ARM: 0x40000028,
  SCMP_ARCH_PPC64: 0x80000015, // big-endian
  SCMP_ARCH_S390X: 0x80000016,
} as const;
const X32 = 0x40000000;
const TABLES: Record<string, { table: Record<string, number>; max: number }> = {
  SCMP_ARCH_X86_64: {
    table: { read: 0, write: 1, close: 3, socket: 41, clone: 56, personality: 135, mount: 165, clone3: 435 },
    max: 450,
  },
  SCMP_ARCH_X32: { table: { read: X32 + 0, write: X32 + 1, close: X32 + 3, mount: X32 + 165 }, max: X32 + 547 },
  SCMP_ARCH_X86: { table: { read: 3, write: 4, close: 6, chown32: 212, mount: 21 }, max: 450 },
  SCMP_ARCH_AARCH64: { table: { read: 63, write: 64, close: 57, mount: 40, clone: 220 }, max: 450 },
  SCMP_ARCH_ARM: { table: { read: 3, write: 4, close: 6, breakpoint: 0xf0001, set_tls: 0xf0005 }, max: 450 },
  SCMP_ARCH_PPC64: { table: { read: 3, write: 4, close: 6 }, max: 450 },
  SCMP_ARCH_S390X: { table: { read: 3, write: 4, close: 6, clone: 120 }, max: 450 },
};
const stub = (tables: typeof TABLES, native: string = "SCMP_ARCH_X86_64"): SyscallLookup =>
  ({
    AUDIT_ARCH: AUDIT,
    syscallNumber: (arch: string, name: string) =>
      Object.hasOwn(tables[arch]?.table ?? {}, name) ? tables[arch]!.table[name] : undefined,
    maxSyscallNumber: (arch: string) => tables[arch]?.max,
    nativeArch: () => native,
  }) as unknown as SyscallLookup;
const lookup = stub(TABLES);

const RET = SECCOMP_RET;
const ERRNO = (e: number) => (RET.ERRNO | e) >>> 0;
const EPERM = ERRNO(1);
const ENOSYS = ERRNO(38);

function compile(seccomp: Partial<LinuxSeccomp>, opts: { lookup?: SyscallLookup; native?: string } = {}) {
  const config = { defaultAction: "SCMP_ACT_ERRNO", ...seccomp } as LinuxSeccomp;
  const nativeArch = (opts.native ?? "SCMP_ARCH_X86_64") as SeccompArch;
  return compileSeccomp(config, { lookup: opts.lookup ?? lookup, nativeArch });
}
/** Runs a compiled filter for a call on `arch`. */
function call(program: Buffer, arch: keyof typeof AUDIT, nr: number, args: (bigint | number)[] = []): number {
  return runFilter(program, { arch: AUDIT[arch], nr, args: args.map((a) => BigInt(a)) });
}
const x64 = (program: Buffer, nr: number, args: (bigint | number)[] = []) =>
  call(program, "SCMP_ARCH_X86_64", nr, args);

describe("bpf", () => {
  test("encodeProgram writes 8-byte sock_filters in the requested byte order", () => {
    const insns = [{ code: OP.JEQ_K, jt: 1, jf: 2, k: 0xc000003e }, { code: OP.RET_K, jt: 0, jf: 0, k: RET.ALLOW }];
    const le = encodeProgram(insns, true);
    expect([...le.subarray(0, 8)]).toEqual([0x15, 0x00, 1, 2, 0x3e, 0x00, 0x00, 0xc0]);
    expect(le.length).toBe(16);
    expect([...encodeProgram(insns, false).subarray(0, 8)]).toEqual([0x00, 0x15, 1, 2, 0xc0, 0x00, 0x00, 0x3e]);
    expect(decodeProgram(le, true)).toEqual(insns);
  });

  test("the assembler relaxes conditional jumps farther than 255 through ja", () => {
    const asm = new Assembler();
    const far = asm.label();
    const near = asm.label();
    asm.load(0);
    asm.jump(OP.JEQ_K, 7, far, near);
    asm.place(near);
    for (let i = 0; i < 300; i++) asm.ret(i);
    asm.place(far);
    asm.ret(RET.ALLOW);
    const insns = asm.assemble();
    expect(insns.length).toBe(304);
    expect(insns[1]).toMatchObject({ code: OP.JEQ_K, jt: 0, jf: 1 });
    expect(insns[2]).toMatchObject({ code: OP.JA, k: 300 });
    expect(runFilter(insns, { arch: AUDIT.SCMP_ARCH_X86_64, nr: 7 })).toBe(RET.ALLOW);
    expect(runFilter(insns, { arch: AUDIT.SCMP_ARCH_X86_64, nr: 8 })).toBe(0);
  });

  test("verifyProgram refuses what the kernel would", () => {
    expect(() => verifyProgram([])).toThrow(/empty/);
    expect(() => verifyProgram([{ code: OP.LD_ABS, jt: 0, jf: 0, k: 0 }])).toThrow(/end with a return/);
    expect(() => verifyProgram([{ code: OP.JA, jt: 0, jf: 0, k: 5 }, { code: OP.RET_K, jt: 0, jf: 0, k: 0 }])).toThrow(
      /past the end/,
    );
  });

  test("the interpreter refuses opcodes it does not know", () => {
    const prog = [{ code: 0x07, jt: 0, jf: 0, k: 0 }]; // BPF_MISC|TAX
    expect(() => runFilter(prog, { arch: AUDIT.SCMP_ARCH_X86_64, nr: 0 })).toThrow(/opcode 0x7/);
  });
});

describe("compileSeccomp: actions", () => {
  test("the default action applies to unlisted syscalls, rules to theirs", () => {
    const { program, skipped } = compile({
      syscalls: [
        { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
        { names: ["close"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
      ],
    });
    expect(x64(program, 0)).toBe(RET.ALLOW);
    expect(x64(program, 1)).toBe(RET.ALLOW);
    expect(x64(program, 3)).toBe(ERRNO(13));
    expect(x64(program, 2)).toBe(EPERM);
    expect(x64(program, 450)).toBe(EPERM);
    expect(skipped).toEqual([]);
  });

  test.each([
    ["SCMP_ACT_KILL", undefined, RET.KILL_THREAD],
    ["SCMP_ACT_KILL_THREAD", undefined, RET.KILL_THREAD],
    ["SCMP_ACT_KILL_PROCESS", undefined, RET.KILL_PROCESS],
    ["SCMP_ACT_TRAP", undefined, RET.TRAP],
    ["SCMP_ACT_ERRNO", undefined, EPERM],
    ["SCMP_ACT_ERRNO", 0, ERRNO(0)],
    ["SCMP_ACT_TRACE", undefined, (RET.TRACE | 1) >>> 0],
    ["SCMP_ACT_TRACE", 42, (RET.TRACE | 42) >>> 0],
    ["SCMP_ACT_ALLOW", undefined, RET.ALLOW],
    ["SCMP_ACT_LOG", undefined, RET.LOG],
  ])("default %s (errno %p) → 0x%s", (action, errno, word) => {
    const { program } = compile({ defaultAction: action, defaultErrnoRet: errno });
    expect(x64(program, 2)).toBe(word);
  });

  test("SCMP_ACT_NOTIFY returns USER_NOTIF and asks for a listener", () => {
    const out = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      listenerPath: "/run/agent.sock",
      flags: ["SECCOMP_FILTER_FLAG_TSYNC"],
      syscalls: [{ names: ["mount"], action: "SCMP_ACT_NOTIFY" }],
    });
    expect(x64(out.program, 165)).toBe(RET.USER_NOTIF);
    expect(out.needsListener).toBe(true);
    const F = SECCOMP_FILTER_FLAG;
    expect(out.flags).toBe(F.TSYNC | F.NEW_LISTENER | F.TSYNC_ESRCH);
  });

  test("flags map to their bits; WAIT_KILLABLE_RECV needs a listener", () => {
    const F = SECCOMP_FILTER_FLAG;
    const flags = (names: string[]) => compile({ flags: names }).flags;
    expect(flags([])).toBe(0);
    expect(flags(["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"])).toBe(F.LOG | F.SPEC_ALLOW);
    expect(flags(["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"])).toBe(0);
    const notify = compile({
      flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
      listenerPath: "/s",
      syscalls: [{ names: ["read"], action: "SCMP_ACT_NOTIFY" }],
    });
    expect(notify.flags).toBe(F.WAIT_KILLABLE_RECV | F.NEW_LISTENER);
    expect(compile({}).needsListener).toBe(false);
  });
});

// --- argument comparisons against a BigInt reference ---------------------------------------

const U64 = (1n << 64n) - 1n;
// Around the 32-bit boundary, in the high word only, in both, and JSON's 2^64 (= uint64 max).
const VALUES = [0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 2 ** 32, 2 ** 32 + 1, 2 ** 33 - 1];
VALUES.push(2 ** 33, 2 ** 52 + 5, 2 ** 63, 2 ** 64);
const clamp = (v: number) => (BigInt(v) > U64 ? U64 : BigInt(v));
const ARGS = [...new Set([...VALUES.map(clamp), U64 - 1n, U64 - 0xffffffffn])];
const REFERENCE: Record<string, (arg: bigint, v: bigint, two: bigint) => boolean> = {
  SCMP_CMP_EQ: (a, v) => a === v,
  SCMP_CMP_NE: (a, v) => a !== v,
  SCMP_CMP_LT: (a, v) => a < v,
  SCMP_CMP_LE: (a, v) => a <= v,
  SCMP_CMP_GT: (a, v) => a > v,
  SCMP_CMP_GE: (a, v) => a >= v,
  SCMP_CMP_MASKED_EQ: (a, mask, two) => (a & mask) === two,
};
describe("compileSeccomp: argument comparisons", () => {
  const abis = [
    ["SCMP_ARCH_X86_64", true],
    ["SCMP_ARCH_PPC64", true], // big-endian: the high word comes first in seccomp_data
    ["SCMP_ARCH_X86", false],
  ] as const;
  for (const [arch, wide] of abis) {
    test.each(Object.keys(REFERENCE))(`%s on ${arch} (${wide ? "64" : "32"}-bit arguments)`, (op) => {
      const nr = TABLES[arch]!.table.read!;
      const twos = op === "SCMP_CMP_MASKED_EQ" ? [0, 1, 0x80000000, 2 ** 32, 2 ** 32 + 1] : [0];
      for (const value of VALUES) {
        for (const valueTwo of twos) {
          const { program } = compile(
            {
              defaultAction: "SCMP_ACT_KILL_PROCESS",
              architectures: [arch],
              syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 2, value, valueTwo, op }] }],
            },
            { native: arch },
          );
          for (const arg of ARGS) {
            // 32-bit ABIs: only the low words are compared, as libseccomp does.
            const cut = (x: bigint) => (wide ? x : x & 0xffffffffn);
            const want = REFERENCE[op]!(cut(arg), cut(clamp(value)), cut(BigInt(valueTwo)));
            const got = call(program, arch, nr, [0, 0, wide ? arg : cut(arg)]);
            if (got !== (want ? RET.ALLOW : RET.KILL_PROCESS))
              throw new Error(`${op} arg=${arg} value=${value} valueTwo=${valueTwo}: got 0x${got.toString(16)}`);
          }
        }
      }
    });
  }

  test("hi/lo boundaries: equal high words defer to the low words", () => {
    const rule = (op: string, value: number) =>
      compile({ syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value, op }] }] }).program;
    const lt = rule("SCMP_CMP_LT", 2 ** 32 + 5);
    expect(x64(lt, 0, [2n ** 32n + 4n])).toBe(RET.ALLOW);
    expect(x64(lt, 0, [2n ** 32n + 5n])).toBe(EPERM);
    expect(x64(lt, 0, [0xffffffffn])).toBe(RET.ALLOW); // smaller high word, larger low word
    expect(x64(lt, 0, [2n ** 33n])).toBe(EPERM); // larger high word, smaller low word
    const ge = rule("SCMP_CMP_GE", 0xffffffff);
    expect(x64(ge, 0, [2n ** 32n])).toBe(RET.ALLOW);
    expect(x64(ge, 0, [0xfffffffen])).toBe(EPERM);
    const eq = rule("SCMP_CMP_EQ", 2 ** 64); // JSON's rounding of the largest uint64
    expect(x64(eq, 0, [U64])).toBe(RET.ALLOW);
    expect(x64(eq, 0, [0n])).toBe(EPERM);
  });

  test("conditions in one rule are ANDed; a repeated index splits the rule (ORed, as runc)", () => {
    const and = compile({
      syscalls: [
        {
          names: ["write"],
          action: "SCMP_ACT_ALLOW",
          args: [
            { index: 0, value: 1, op: "SCMP_CMP_EQ" },
            { index: 2, value: 100, op: "SCMP_CMP_LE" },
          ],
        },
      ],
    }).program;
    expect(x64(and, 1, [1, 0, 100])).toBe(RET.ALLOW);
    expect(x64(and, 1, [1, 0, 101])).toBe(EPERM);
    expect(x64(and, 1, [2, 0, 5])).toBe(EPERM);
    const or = compile({
      syscalls: [
        {
          names: ["write"],
          action: "SCMP_ACT_ALLOW",
          args: [
            { index: 0, value: 1, op: "SCMP_CMP_EQ" },
            { index: 0, value: 2, op: "SCMP_CMP_EQ" },
          ],
        },
      ],
    }).program;
    expect([1, 2, 3].map((fd) => x64(or, 1, [fd]))).toEqual([RET.ALLOW, RET.ALLOW, EPERM]);
  });

  test("rules with args come first in config order, then the first rule without", () => {
    const { program } = compile({
      syscalls: [
        { names: ["write"], action: "SCMP_ACT_ERRNO", errnoRet: 5 },
        { names: ["write"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] },
        { names: ["write"], action: "SCMP_ACT_LOG", args: [{ index: 0, value: 1, op: "SCMP_CMP_GE" }] },
        { names: ["write"], action: "SCMP_ACT_TRAP" },
      ],
    });
    expect(x64(program, 1, [1])).toBe(RET.ALLOW);
    expect(x64(program, 1, [2])).toBe(RET.LOG);
    expect(x64(program, 1, [0])).toBe(ERRNO(5));
  });
});

describe("compileSeccomp: architectures", () => {
  test("an arch neither listed nor native gets KILL_PROCESS; the native one is always in", () => {
    const syscalls = [{ names: ["read"], action: "SCMP_ACT_ALLOW" }];
    const { program } = compile({ architectures: ["SCMP_ARCH_X86"], syscalls });
    expect(x64(program, 0)).toBe(RET.ALLOW);
    expect(call(program, "SCMP_ARCH_X86", 3)).toBe(RET.ALLOW);
    expect(call(program, "SCMP_ARCH_X86", 0)).toBe(EPERM);
    expect(call(program, "SCMP_ARCH_AARCH64", 63)).toBe(RET.KILL_PROCESS);
    expect(call(program, "SCMP_ARCH_ARM", 3)).toBe(RET.KILL_PROCESS);
  });

  test("x32 numbers on x86_64 hit the bad-arch action unless X32 is listed", () => {
    const rules = [
      { names: ["read"], action: "SCMP_ACT_ALLOW" },
      { names: ["mount"], action: "SCMP_ACT_ERRNO", errnoRet: 99 },
    ];
    const without = compile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: rules }).program;
    expect(x64(without, 165)).toBe(ERRNO(99));
    expect(x64(without, X32 + 165)).toBe(RET.KILL_PROCESS);
    expect(x64(without, X32)).toBe(RET.KILL_PROCESS);
    expect(x64(without, -1)).toBe(RET.ALLOW); // a tracer's "skip this call"
    const withX32 = compile({ architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"], syscalls: rules }).program;
    expect(x64(withX32, X32)).toBe(RET.ALLOW);
    expect(x64(withX32, X32 + 165)).toBe(ERRNO(99));
    expect(x64(withX32, X32 + 2)).toBe(EPERM);
    expect(x64(withX32, X32 + 548)).toBe(ENOSYS);
    expect(x64(withX32, 0)).toBe(RET.ALLOW);
    expect(x64(withX32, -1)).toBe(EPERM);
  });

  test("X32 alone (native elsewhere) leaves x86_64 numbers to the bad-arch action", () => {
    const { program } = compile(
      { architectures: ["SCMP_ARCH_X32"], syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] },
      { native: "SCMP_ARCH_AARCH64" },
    );
    expect(x64(program, X32)).toBe(RET.ALLOW);
    expect(x64(program, 0)).toBe(RET.KILL_PROCESS);
    expect(call(program, "SCMP_ARCH_AARCH64", 63)).toBe(RET.ALLOW);
  });

  test("a name one arch lacks is skipped there only; names no arch knows are reported", () => {
    const { program, skipped } = compile({
      architectures: ["SCMP_ARCH_X86"],
      syscalls: [
        { names: ["chown32", "no_such_call", "read", "also_missing", "no_such_call"], action: "SCMP_ACT_ALLOW" },
      ],
    });
    expect(skipped).toEqual(["no_such_call", "also_missing"]);
    expect(call(program, "SCMP_ARCH_X86", 212)).toBe(RET.ALLOW);
    expect(x64(program, 212)).toBe(EPERM);
  });
});

describe("compileSeccomp: syscalls newer than the table", () => {
  test("numbers past the table's highest get ENOSYS unless the default lets calls through", () => {
    const rules = [{ names: ["read"], action: "SCMP_ACT_ALLOW" }];
    const deny = compile({ syscalls: rules }).program;
    expect(x64(deny, 450)).toBe(EPERM);
    expect(x64(deny, 451)).toBe(ENOSYS);
    expect(x64(deny, X32 - 1)).toBe(ENOSYS);
    expect(call(deny, "SCMP_ARCH_X86_64", 0)).toBe(RET.ALLOW);
    const kill = compile({ defaultAction: "SCMP_ACT_KILL_PROCESS", syscalls: rules }).program;
    expect(x64(kill, 600)).toBe(ENOSYS);
    const permissive = { SCMP_ACT_ALLOW: RET.ALLOW, SCMP_ACT_LOG: RET.LOG, SCMP_ACT_TRACE: (RET.TRACE | 1) >>> 0 };
    for (const [defaultAction, word] of Object.entries(permissive)) {
      const { program } = compile({ defaultAction, syscalls: [{ names: ["mount"], action: "SCMP_ACT_KILL" }] });
      expect(x64(program, 600)).toBe(word);
      expect(x64(program, 165)).toBe(RET.KILL_THREAD);
    }
  });

  test("arm's private calls above the table's highest stay reachable when listed", () => {
    const { program } = compile(
      { syscalls: [{ names: ["breakpoint", "read"], action: "SCMP_ACT_ALLOW" }] },
      { native: "SCMP_ARCH_ARM" },
    );
    expect(call(program, "SCMP_ARCH_ARM", 0xf0001)).toBe(RET.ALLOW);
    expect(call(program, "SCMP_ARCH_ARM", 0xf0005)).toBe(ENOSYS); // set_tls: known but not allowed
    expect(call(program, "SCMP_ARCH_ARM", 1000)).toBe(ENOSYS);
    expect(call(program, "SCMP_ARCH_ARM", 3)).toBe(RET.ALLOW);
    expect(call(program, "SCMP_ARCH_ARM", 4)).toBe(EPERM);
  });

  test("s390x: syscall 0, where unknown numbers land, answers ENOSYS", () => {
    const { program } = compile({}, { native: "SCMP_ARCH_S390X" });
    expect(call(program, "SCMP_ARCH_S390X", 0)).toBe(ENOSYS);
    expect(call(program, "SCMP_ARCH_S390X", 3)).toBe(EPERM);
  });
});

describe("compileSeccomp: big programs", () => {
  const many = (n: number, base = 0): Record<string, number> =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`sys${i}`, base + i]));
  const bigTables = {
    SCMP_ARCH_X86_64: { table: many(400), max: 450 },
    SCMP_ARCH_X86: { table: many(400), max: 450 },
    SCMP_ARCH_X32: { table: many(400, X32), max: X32 + 450 },
  };
  const bigLookup = stub(bigTables);
  const arches = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"] as const;

  test("350 syscalls with mixed actions and arguments: near jumps only, and every answer right", () => {
    // Every third syscall allowed, every seventh denied with its own errno, every eleventh
    // allowed only for fd < 3: many small segments and conditional leaves.
    const syscalls: NonNullable<LinuxSeccomp["syscalls"]> = [];
    const expected = (i: number, fd: bigint) => {
      if (i >= 350) return EPERM;
      if (i % 11 === 0) return fd < 3n ? RET.ALLOW : EPERM;
      return i % 7 === 0 ? ERRNO(i) : i % 3 === 0 ? RET.ALLOW : EPERM;
    };
    const fdBelow3 = [{ index: 0, value: 3, op: "SCMP_CMP_LT" }];
    for (let i = 0; i < 350; i++) {
      if (i % 11 === 0) syscalls.push({ names: [`sys${i}`], action: "SCMP_ACT_ALLOW", args: fdBelow3 });
      else if (i % 7 === 0) syscalls.push({ names: [`sys${i}`], action: "SCMP_ACT_ERRNO", errnoRet: i });
      else if (i % 3 === 0) syscalls.push({ names: [`sys${i}`], action: "SCMP_ACT_ALLOW" });
    }
    const out = compile({ architectures: [...arches], syscalls }, { lookup: bigLookup });
    expect(out.instructions).toBeLessThan(4096);
    const insns = decodeProgram(out.program);
    expect(insns.length).toBe(out.instructions);
    verifyProgram(insns);
    for (const insn of insns) expect(Math.max(insn.jt, insn.jf)).toBeLessThanOrEqual(255);
    for (const arch of arches) {
      const base = arch === "SCMP_ARCH_X32" ? X32 : 0;
      for (let i = 0; i < 460; i++) {
        for (const fd of [1n, 5n]) {
          const want = i > 450 ? ENOSYS : expected(i, fd);
          expect(call(out.program, arch, base + i, [fd])).toBe(want);
        }
      }
    }
  });

  test("the docker-sized profile: 350 allowed syscalls on three ABIs stay far below 4096", () => {
    // 350 of 400 numbers, with holes, as real allow lists have.
    const names = Array.from({ length: 400 }, (_, i) => `sys${i}`).filter((_, i) => i % 8 !== 5);
    expect(names.length).toBe(350);
    const syscalls = [{ names, action: "SCMP_ACT_ALLOW" }];
    const out = compile({ architectures: [...arches], syscalls }, { lookup: bigLookup });
    expect(out.instructions).toBeLessThan(1000);
    verifyProgram(decodeProgram(out.program));
  });

  test("more than 4096 instructions is refused", () => {
    const syscalls = Array.from({ length: 400 }, (_, i) => ({
      names: [`sys${i}`],
      action: "SCMP_ACT_ALLOW",
      args: [0, 1, 2, 3, 4].map((index) => ({ index, value: 2 ** 40 + i, op: "SCMP_CMP_EQ" })),
    }));
    expect(() => compile({ architectures: [...arches], syscalls }, { lookup: bigLookup })).toThrow(
      /linux\.seccomp: the filter needs \d+ BPF instructions, more than the kernel's 4096/,
    );
  });
});

describe("compileSeccomp: errors", () => {
  const rule = (extra: object) => ({ syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", ...extra }] });
  const arg = (index: number, value: number, op: string) => ({ index, value, op });
  const eq = (index: number) => arg(index, 1, "SCMP_CMP_EQ");
  const notify = { syscalls: [{ names: ["read"], action: "SCMP_ACT_NOTIFY" }] };
  test.each([
    [{ defaultAction: "SCMP_ACT_FLY" }, "defaultAction", 'unknown action "SCMP_ACT_FLY"'],
    [{ defaultAction: "SCMP_ACT_NOTIFY", listenerPath: "/s" }, "defaultAction", "SCMP_ACT_NOTIFY cannot be the default"],
    [{ defaultAction: "SCMP_ACT_ALLOW", defaultErrnoRet: 1 }, "defaultErrnoRet", "SCMP_ACT_ALLOW takes no errno"],
    [{ defaultErrnoRet: 70000 }, "defaultErrnoRet", "70000 does not fit"],
    [{ syscalls: [{ names: ["read"], action: "SCMP_ACT_ALOW" }] }, "syscalls[0].action", 'unknown action "SCMP_ACT_ALOW"'],
    [rule({ errnoRet: 2 }), "syscalls[0].errnoRet", "SCMP_ACT_ALLOW takes no errno"],
    [rule({ args: [eq(0), eq(6)] }), "syscalls[0].args[1].index", "6 is not an argument index"],
    [rule({ args: [arg(0, 1, "SCMP_CMP_LIKE")] }), "syscalls[0].args[0].op", 'unknown operator "SCMP_CMP_LIKE"'],
    [rule({ args: [arg(0, -1, "SCMP_CMP_EQ")] }), "syscalls[0].args[0].value", "-1 is not a uint64"],
    [{ syscalls: [{ names: [], action: "SCMP_ACT_ALLOW" }] }, "syscalls[0].names", "must name at least one syscall"],
    [{ syscalls: [{ action: "SCMP_ACT_ALLOW" }] }, "syscalls[0].names", "must name at least one syscall"],
    [{ syscalls: [{ names: ["read", ""], action: "SCMP_ACT_ALLOW" }] }, "syscalls[0].names[1]", "empty syscall name"],
    [{ architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"] }, "architectures[1]", 'unknown architecture "SCMP_ARCH_VAX"'],
    [{ architectures: ["toString"] }, "architectures[0]", 'unknown architecture "toString"'],
    [{ flags: ["SECCOMP_FILTER_FLAG_NEW_LISTENER"] }, "flags[0]", 'unknown flag "SECCOMP_FILTER_FLAG_NEW_LISTENER"'],
    [notify, "listenerPath", "required when a rule uses SCMP_ACT_NOTIFY"],
    [{ listenerMetadata: "x" }, "listenerMetadata", "set without listenerPath"],
  ])("%j → %s", (seccomp, field, text) => {
    let error: unknown;
    try {
      compile(seccomp as Partial<LinuxSeccomp>);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: "BuncError", code: "config" });
    expect((error as Error).message).toContain(`config.json: linux.seccomp.${field}: ${text}`);
  });
});

describe("default profile", () => {
  const CLONE_NEWUSER = 0x10000000;
  const CLONE_THREAD_FLAGS = 0x003d0f00; // what pthread_create passes
  for (const arch of ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"] as const) {
    const nr = (name: string, abi: SeccompArch = arch) => realTables.syscallNumber(abi, name)!;
    const run = (program: Buffer, name: string, args: (number | bigint)[] = [], abi: SeccompArch = arch) =>
      runFilter(program, { arch: realTables.AUDIT_ARCH[abi], nr: nr(name, abi), args: args.map((a) => BigInt(a)) });

    test(`${arch}: compiles, allows the ordinary, denies the privileged`, () => {
      const out = compileSeccomp(defaultSeccompProfile(arch), { nativeArch: arch });
      expect(out.instructions).toBeLessThan(4096);
      expect(out.flags).toBe(0);
      verifyProgram(decodeProgram(out.program));
      const p = out.program;
      expect(run(p, "read")).toBe(RET.ALLOW);
      expect(run(p, "openat")).toBe(RET.ALLOW);
      expect(run(p, "execve")).toBe(RET.ALLOW);
      expect(run(p, "mount")).toBe(EPERM);
      expect(run(p, "unshare")).toBe(EPERM);
      expect(run(p, "keyctl")).toBe(EPERM);
      expect(run(p, "io_uring_setup")).toBe(EPERM);
      expect(run(p, "clone", [CLONE_THREAD_FLAGS])).toBe(RET.ALLOW);
      expect(run(p, "clone", [17])).toBe(RET.ALLOW); // fork: SIGCHLD
      expect(run(p, "clone", [CLONE_NEWUSER | 17])).toBe(EPERM);
      expect(run(p, "clone3")).toBe(ENOSYS);
      expect(run(p, "personality", [0xffffffff])).toBe(RET.ALLOW);
      expect(run(p, "personality", [0x0400000])).toBe(EPERM); // READ_IMPLIES_EXEC
      expect(run(p, "socket", [2])).toBe(RET.ALLOW); // AF_INET
      expect(run(p, "socket", [38])).toBe(EPERM); // AF_ALG
      expect(run(p, "socket", [40])).toBe(EPERM); // AF_VSOCK
      expect(run(p, "socket", [44])).toBe(RET.ALLOW); // AF_XDP
      expect(runFilter(p, { arch: realTables.AUDIT_ARCH[arch], nr: 1000 })).toBe(ENOSYS);
      const compat = arch === "SCMP_ARCH_X86_64" ? "SCMP_ARCH_X86" : "SCMP_ARCH_ARM";
      expect(run(p, "read", [], compat)).toBe(RET.ALLOW);
      expect(run(p, "mount", [], compat)).toBe(EPERM);
      if (arch === "SCMP_ARCH_X86_64") {
        expect(run(p, "read", [], "SCMP_ARCH_X32")).toBe(RET.ALLOW);
        expect(run(p, "arch_prctl")).toBe(RET.ALLOW);
      } else expect(run(p, "set_tls", [], "SCMP_ARCH_ARM")).toBe(RET.ALLOW);
    });

    test(`${arch}: capabilities widen the profile`, () => {
      const admin = compileSeccomp(defaultSeccompProfile(arch, ["CAP_SYS_ADMIN"]), { nativeArch: arch }).program;
      expect(run(admin, "unshare")).toBe(RET.ALLOW);
      expect(run(admin, "mount")).toBe(RET.ALLOW);
      expect(run(admin, "clone", [CLONE_NEWUSER | 17])).toBe(RET.ALLOW);
      expect(run(admin, "clone3")).toBe(RET.ALLOW);
      expect(run(admin, "reboot")).toBe(EPERM);
      const others = compileSeccomp(defaultSeccompProfile(arch, ["CAP_SYS_BOOT", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE"]), {
        nativeArch: arch,
      }).program;
      expect(run(others, "reboot")).toBe(RET.ALLOW);
      expect(run(others, "chroot")).toBe(RET.ALLOW);
      expect(run(others, "kcmp")).toBe(RET.ALLOW);
      expect(run(others, "unshare")).toBe(EPERM);
    });
  }

  test("architectures cover the native family; s390 tests clone's second argument", () => {
    const x86 = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
    expect(defaultSeccompProfile("SCMP_ARCH_X86_64").architectures).toEqual(x86);
    expect(defaultSeccompProfile("SCMP_ARCH_AARCH64").architectures).toEqual(["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
    expect(defaultSeccompProfile("SCMP_ARCH_RISCV64").architectures).toEqual(["SCMP_ARCH_RISCV64"]);
    const clone = defaultSeccompProfile("SCMP_ARCH_S390X").syscalls!.find((r) => r.names.includes("clone") && r.args);
    expect(clone?.args?.[0]).toMatchObject({ index: 1, value: 0x7e020000, op: "SCMP_CMP_MASKED_EQ" });
  });
});
