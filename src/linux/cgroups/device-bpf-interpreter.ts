// Test support: runs a cgroup device program the way the kernel would, on a
// bpf_cgroup_dev_ctx we make up, so tests can check its verdicts without root. It knows
// only the opcodes device-bpf.ts emits and throws on anything else, and it refuses what
// the verifier would: reading a register never written, loads other than aligned u32s of
// the context, jumps out of the program, and an exit with r0 other than 0 or 1.
import { decodeProgram, EBPF, type Insn } from "./device-bpf.ts";

export interface DevCtx {
  /** BPF_DEVCG_DEV_BLOCK (1) or CHAR (2). */
  type: number;
  /** BPF_DEVCG_ACC_* bits. */
  access: number;
  major: number;
  minor: number;
}

const CTX = "ctx" as const;
type Reg = bigint | typeof CTX | undefined;
const U64 = (1n << 64n) - 1n;
const U32 = (1n << 32n) - 1n;

/** The value the program returns (1 allow, 0 deny) for `ctx`. */
export function runDeviceProgram(program: Buffer | readonly Insn[], ctx: DevCtx): number {
  const insns = Buffer.isBuffer(program) ? decodeProgram(program) : program;
  const fields = [BigInt(((ctx.access << 16) | ctx.type) >>> 0), BigInt(ctx.major >>> 0), BigInt(ctx.minor >>> 0)];
  const regs: Reg[] = new Array(11).fill(undefined);
  regs[1] = CTX;
  const value = (r: number, pc: number): bigint => {
    const v = regs[r];
    if (v === undefined) throw new Error(`ebpf: r${r} read before written at ${pc}`);
    if (v === CTX) throw new Error(`ebpf: arithmetic on the context pointer r${r} at ${pc}`);
    return v;
  };
  let pc = 0;
  for (let steps = 0; steps < 1_000_000; steps++) {
    if (pc < 0 || pc >= insns.length) throw new Error(`ebpf: fell off the program at ${pc}`);
    const { code, dst, src, off, imm } = insns[pc]!;
    const cls = code & 0x07;
    if (code === (EBPF.LDX | EBPF.W | EBPF.MEM)) {
      if (regs[src] !== CTX) throw new Error(`ebpf: load from r${src}, not the context, at ${pc}`);
      if (off < 0 || off > 8 || off % 4 !== 0) throw new Error(`ebpf: context load at offset ${off} at ${pc}`);
      regs[dst] = fields[off / 4]!;
      pc++;
    } else if (cls === EBPF.ALU || cls === EBPF.ALU64) {
      const wide = cls === EBPF.ALU64;
      const operand = code & EBPF.X ? value(src, pc) : BigInt.asUintN(64, BigInt(imm)); // imm sign-extends
      const op = code & 0xf0;
      const a = op === EBPF.MOV ? 0n : value(dst, pc);
      let r: bigint;
      if (op === EBPF.MOV) r = operand;
      else if (op === EBPF.AND) r = a & operand;
      else if (op === EBPF.RSH) r = (wide ? a : a & U32) >> (operand & (wide ? 63n : 31n));
      else throw new Error(`ebpf: ALU op 0x${op.toString(16)} at ${pc}`);
      regs[dst] = wide ? r & U64 : r & U32;
      pc++;
    } else if (cls === EBPF.JMP) {
      const op = code & 0xf0;
      if (op === EBPF.EXIT) {
        const r0 = value(0, pc);
        if (r0 !== 0n && r0 !== 1n) throw new Error(`ebpf: exit with r0 = ${r0}, not 0 or 1, at ${pc}`);
        return Number(r0);
      }
      let taken: boolean;
      if (op === EBPF.JA) taken = true;
      else {
        const a = value(dst, pc);
        const b = code & EBPF.X ? value(src, pc) : BigInt.asUintN(64, BigInt(imm));
        if (op === EBPF.JEQ) taken = a === b;
        else if (op === EBPF.JNE) taken = a !== b;
        else if (op === EBPF.JSET) taken = (a & b) !== 0n;
        else throw new Error(`ebpf: jump op 0x${op.toString(16)} at ${pc}`);
      }
      pc += 1 + (taken ? off : 0);
    } else {
      throw new Error(`ebpf: opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error("ebpf: program does not end");
}
