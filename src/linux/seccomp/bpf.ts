// Classic BPF as seccomp uses it (linux/filter.h, linux/seccomp.h): the opcodes the seccomp
// compiler emits, the seccomp_data layout, the SECCOMP_RET_* words, and a small assembler
// with labels. Classic BPF jumps only forward, and a conditional jump reaches at most 255
// instructions: the assembler turns any farther jump into a near one plus a 32-bit `ja`.

// --- opcodes ------------------------------------------------------------------------------

export const BPF = {
  // classes
  LD: 0x00,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  // size and mode of loads
  W: 0x00,
  ABS: 0x20,
  // ALU and jump operations
  AND: 0x50,
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  // source operand: the constant k
  K: 0x00,
} as const;

/** The full opcodes we emit. */
export const OP = {
  LD_ABS: BPF.LD | BPF.W | BPF.ABS,
  AND_K: BPF.ALU | BPF.AND | BPF.K,
  JA: BPF.JMP | BPF.JA,
  JEQ_K: BPF.JMP | BPF.JEQ | BPF.K,
  JGT_K: BPF.JMP | BPF.JGT | BPF.K,
  JGE_K: BPF.JMP | BPF.JGE | BPF.K,
  JSET_K: BPF.JMP | BPF.JSET | BPF.K,
  RET_K: BPF.RET | BPF.K,
} as const;

export type JumpOp = typeof OP.JEQ_K | typeof OP.JGT_K | typeof OP.JGE_K | typeof OP.JSET_K;

/** The kernel refuses longer programs (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

/** struct sock_filter. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// --- seccomp_data -------------------------------------------------------------------------

/** Offsets in struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }. */
export const SECCOMP_DATA = {
  nr: 0,
  arch: 4,
  instructionPointer: 8,
  args: 16,
  size: 64,
} as const;

/**
 * Offsets of the low and high 32-bit words of argument `index`. The kernel fills
 * seccomp_data in its own byte order: little-endian puts the low word first.
 */
export function argOffsets(index: number, littleEndian: boolean): { lo: number; hi: number } {
  const base = SECCOMP_DATA.args + 8 * index;
  return littleEndian ? { lo: base, hi: base + 4 } : { lo: base + 4, hi: base };
}

// --- return values ------------------------------------------------------------------------

export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
  /** The low 16 bits carry the errno or the tracer's data. */
  DATA: 0x0000ffff,
} as const;

/** AUDIT_ARCH_* flag bits. */
export const AUDIT_ARCH_64BIT = 0x80000000;
export const AUDIT_ARCH_LE = 0x40000000;

// --- assembler ----------------------------------------------------------------------------

/** A place in the program, fixed with `place()`. */
export type Label = number & { readonly __label: unique symbol };

type Item =
  | { kind: "insn"; code: number; k: number }
  | { kind: "jump"; code: JumpOp; k: number; jt: Label; jf: Label }
  | { kind: "ja"; target: Label }
  | { kind: "label"; label: Label };

export class Assembler {
  private items: Item[] = [];
  private nextLabel = 0;

  label(): Label {
    return this.nextLabel++ as Label;
  }

  /** Fixes `label` to the next instruction emitted. */
  place(label: Label): void {
    this.items.push({ kind: "label", label });
  }

  load(offset: number): void {
    this.items.push({ kind: "insn", code: OP.LD_ABS, k: offset });
  }

  and(k: number): void {
    this.items.push({ kind: "insn", code: OP.AND_K, k: k >>> 0 });
  }

  ret(k: number): void {
    this.items.push({ kind: "insn", code: OP.RET_K, k: k >>> 0 });
  }

  /** if (A <op> k) goto jt else goto jf. Both targets must lie ahead. */
  jump(code: JumpOp, k: number, jt: Label, jf: Label): void {
    this.items.push({ kind: "jump", code, k: k >>> 0, jt, jf });
  }

  goto(target: Label): void {
    this.items.push({ kind: "ja", target });
  }

  /** Resolves labels, relaxing far conditional jumps, and checks every offset. */
  assemble(): SockFilter[] {
    while (this.relaxOnce());
    const pos = this.positions();
    const out: SockFilter[] = [];
    for (const item of this.items) {
      const here = out.length;
      const offset = (l: Label) => {
        const at = pos.get(l);
        if (at === undefined) throw new Error(`bpf: label ${l} never placed`);
        const off = at - here - 1;
        if (off < 0) throw new Error(`bpf: backward jump at ${here}`);
        return off;
      };
      if (item.kind === "label") continue;
      if (item.kind === "insn") out.push({ code: item.code, jt: 0, jf: 0, k: item.k });
      else if (item.kind === "ja") out.push({ code: OP.JA, jt: 0, jf: 0, k: offset(item.target) });
      else out.push({ code: item.code, jt: offset(item.jt), jf: offset(item.jf), k: item.k });
    }
    verifyProgram(out);
    return out;
  }

  // Labels are dense small numbers: an array indexes them faster than a Map.
  private positions(): { get(label: Label): number | undefined } {
    const at = new Int32Array(this.nextLabel).fill(-1);
    let n = 0;
    for (const item of this.items) {
      if (item.kind === "label") at[item.label] = n;
      else n++;
    }
    return { get: (label) => (at[label]! < 0 ? undefined : at[label]) };
  }

  // One pass: every conditional jump with a target more than 255 ahead gets `ja` trampolines
  // right after it. Growing the program can push other jumps out of reach, hence the loop;
  // it ends because a relaxed jump's targets stay adjacent.
  private relaxOnce(): boolean {
    const pos = this.positions();
    const out: Item[] = [];
    let n = 0;
    let changed = false;
    for (const item of this.items) {
      if (item.kind !== "jump") {
        out.push(item);
        if (item.kind !== "label") n++;
        continue;
      }
      const far = (l: Label) => (pos.get(l) ?? Infinity) - n - 1 > 255;
      const farT = far(item.jt);
      const farF = far(item.jf);
      if (!farT && !farF) {
        out.push(item);
        n++;
        continue;
      }
      changed = true;
      const jump = { ...item };
      const trampolines: Item[] = [];
      for (const side of ["jt", "jf"] as const) {
        if (!(side === "jt" ? farT : farF)) continue;
        const near = this.label();
        trampolines.push({ kind: "label", label: near }, { kind: "ja", target: item[side] });
        jump[side] = near;
      }
      out.push(jump, ...trampolines);
      n += 1 + trampolines.length / 2;
    }
    this.items = out;
    return changed;
  }
}

/** Checks what the kernel's classic BPF checker would: offsets in range, ending in RET. */
export function verifyProgram(insns: readonly SockFilter[]): void {
  const n = insns.length;
  if (n === 0) throw new Error("bpf: empty program");
  insns.forEach((insn, i) => {
    if (insn.jt > 255 || insn.jf > 255) throw new Error(`bpf: jump offset over 255 at ${i}`);
    const jumpsTo = (off: number) => {
      if (i + 1 + off >= n) throw new Error(`bpf: jump past the end at ${i}`);
    };
    if (insn.code === OP.JA) jumpsTo(insn.k);
    else if ((insn.code & 0x07) === BPF.JMP) {
      jumpsTo(insn.jt);
      jumpsTo(insn.jf);
    }
  });
  if (insns[n - 1]!.code !== OP.RET_K) throw new Error("bpf: program must end with a return");
}

/** struct sock_filter[] as the kernel reads it: u16 code, u8 jt, u8 jf, u32 k, host order. */
// A DataView, not Buffer's write methods: those cost ~1.5 ms on a cold 600-instruction program.
export function encodeProgram(insns: readonly SockFilter[], littleEndian = hostLittleEndian()): Buffer {
  const buf = Buffer.alloc(insns.length * 8);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0, at = 0; i < insns.length; i++, at += 8) {
    const insn = insns[i]!;
    view.setUint16(at, insn.code, littleEndian);
    view.setUint8(at + 2, insn.jt);
    view.setUint8(at + 3, insn.jf);
    view.setUint32(at + 4, insn.k >>> 0, littleEndian);
  }
  return buf;
}

/** The inverse of encodeProgram. */
export function decodeProgram(buf: Buffer, littleEndian = hostLittleEndian()): SockFilter[] {
  if (buf.length % 8 !== 0) throw new Error("bpf: program length is not a multiple of 8");
  const out: SockFilter[] = [];
  for (let at = 0; at < buf.length; at += 8) {
    out.push({
      code: littleEndian ? buf.readUInt16LE(at) : buf.readUInt16BE(at),
      jt: buf.readUInt8(at + 2),
      jf: buf.readUInt8(at + 3),
      k: littleEndian ? buf.readUInt32LE(at + 4) : buf.readUInt32BE(at + 4),
    });
  }
  return out;
}

export function hostLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}
