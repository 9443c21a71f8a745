// Test support: runs a seccomp program the way the kernel would, on a seccomp_data we make
// up, so tests can check what a filter decides without installing it. It knows only the
// opcodes the compiler emits and throws on anything else.
import { AUDIT_ARCH_LE, BPF, decodeProgram, OP, SECCOMP_DATA, type SockFilter } from "./bpf.ts";

export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  /** Up to six arguments, as the u64 values the kernel stores. */
  args?: readonly bigint[];
}

/**
 * Builds struct seccomp_data in the byte order of `arch` (its AUDIT_ARCH_LE bit), which is
 * the order the kernel uses for it on such a machine.
 */
export function seccompDataBytes(data: SeccompData): DataView {
  const view = new DataView(new ArrayBuffer(SECCOMP_DATA.size));
  const le = (data.arch & AUDIT_ARCH_LE) !== 0;
  view.setUint32(SECCOMP_DATA.nr, data.nr >>> 0, le);
  view.setUint32(SECCOMP_DATA.arch, data.arch >>> 0, le);
  view.setBigUint64(SECCOMP_DATA.instructionPointer, BigInt.asUintN(64, data.instructionPointer ?? 0n), le);
  (data.args ?? []).forEach((arg, i) => {
    if (i > 5) throw new Error("seccomp_data has six arguments");
    view.setBigUint64(SECCOMP_DATA.args + 8 * i, BigInt.asUintN(64, arg), le);
  });
  return view;
}

/** Returns the SECCOMP_RET_* word the program yields for `data`. */
export function runFilter(program: Buffer | readonly SockFilter[], data: SeccompData): number {
  const insns = Buffer.isBuffer(program) ? decodeProgram(program) : program;
  const view = seccompDataBytes(data);
  const le = (data.arch & AUDIT_ARCH_LE) !== 0;
  let a = 0;
  let pc = 0;
  // Jumps only go forward, so a program runs at most its length in steps.
  while (pc < insns.length) {
    const { code, jt, jf, k } = insns[pc]!;
    switch (code) {
      case OP.LD_ABS:
        if (k % 4 !== 0 || k + 4 > SECCOMP_DATA.size) throw new Error(`bpf: bad load offset ${k} at ${pc}`);
        a = view.getUint32(k, le);
        pc++;
        break;
      case OP.AND_K:
        a = (a & k) >>> 0;
        pc++;
        break;
      case OP.JA:
        pc += 1 + k;
        break;
      case OP.JEQ_K:
      case OP.JGT_K:
      case OP.JGE_K:
      case OP.JSET_K: {
        const op = code & 0xf0;
        const taken =
          op === BPF.JEQ ? a === k >>> 0 : op === BPF.JGT ? a > k >>> 0 : op === BPF.JGE ? a >= k >>> 0 : (a & k) !== 0;
        pc += 1 + (taken ? jt : jf);
        break;
      }
      case OP.RET_K:
        return k >>> 0;
      default:
        throw new Error(`bpf: opcode 0x${code.toString(16)} at ${pc} is not supported`);
    }
  }
  throw new Error("bpf: program ran off its end");
}
