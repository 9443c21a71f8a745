// The cgroup v2 device program: eBPF of type BPF_PROG_TYPE_CGROUP_DEVICE that gives v1's
// verdicts for a DeviceState (device-emulator.ts). The kernel runs it on every mknod and
// every open of a device node by a process of the cgroup, with r1 pointing at
//   struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
// where access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*. It returns 1 to allow and
// 0 to refuse (the caller gets EPERM).
//
// Layout: four loads, then one block per exception, then the default verdict:
//   r2 = type, r3 = access asked, r4 = major, r5 = minor
//   block: if the exception does not apply, jump to the next block; else r0 = verdict, exit
//   r0 = default, exit
// Every exception of a state has the same verdict (the opposite of the default), so their
// order does not matter. How an exception "applies" follows v1 (device-emulator.ts):
//   allow-exception: device matches and the access asked is a subset of its access;
//   deny-exception:  device matches and the access asked shares a bit with its access.
import { ACC_ALL, ANY, accessBits, type DeviceState } from "./device-emulator.ts";

/** BPF_DEVCG_DEV_* */
export const DEVCG_DEV = { BLOCK: 1, CHAR: 2 } as const;

// --- eBPF encoding (linux/bpf.h, linux/bpf_common.h) ----------------------------------------

export const EBPF = {
  // classes
  LDX: 0x01,
  ALU: 0x04, // 32-bit: the result is zero-extended
  JMP: 0x05, // compares the 64-bit registers; an immediate is sign-extended
  ALU64: 0x07,
  // load size and mode
  W: 0x00,
  MEM: 0x60,
  // ALU operations
  AND: 0x50,
  RSH: 0x70,
  MOV: 0xb0,
  // jump operations
  JA: 0x00,
  JEQ: 0x10,
  JSET: 0x40,
  JNE: 0x50,
  EXIT: 0x90,
  // operand: the immediate (K) or the source register (X)
  K: 0x00,
  X: 0x08,
} as const;

export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

export const INSN_SIZE = 8;

/** struct bpf_insn { u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm; }, little-endian. */
export function encodeProgram(insns: readonly Insn[]): Buffer {
  const buf = Buffer.alloc(insns.length * INSN_SIZE);
  insns.forEach((i, n) => {
    const at = n * INSN_SIZE;
    buf.writeUInt8(i.code, at);
    buf.writeUInt8((i.dst & 0xf) | ((i.src & 0xf) << 4), at + 1);
    buf.writeInt16LE(i.off, at + 2);
    buf.writeInt32LE(i.imm | 0, at + 4);
  });
  return buf;
}

export function decodeProgram(buf: Buffer): Insn[] {
  if (buf.length % INSN_SIZE !== 0) throw new Error(`ebpf: program of ${buf.length} bytes`);
  const out: Insn[] = [];
  for (let at = 0; at < buf.length; at += INSN_SIZE) {
    const regs = buf.readUInt8(at + 1);
    out.push({ code: buf.readUInt8(at), dst: regs & 0xf, src: regs >> 4, off: buf.readInt16LE(at + 2), imm: buf.readInt32LE(at + 4) });
  }
  return out;
}

const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5;

const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });
const ldxw = (dst: number, src: number, off: number) => insn(EBPF.LDX | EBPF.W | EBPF.MEM, dst, src, off, 0);
const alu32 = (op: number, dst: number, imm: number) => insn(EBPF.ALU | op | EBPF.K, dst, 0, 0, imm);
const mov32x = (dst: number, src: number) => insn(EBPF.ALU | EBPF.MOV | EBPF.X, dst, src, 0, 0);
const exit = () => insn(EBPF.JMP | EBPF.EXIT, 0, 0, 0, 0);

/** A jump to the next block; its offset is filled in once the block's length is known. */
const NEXT = Symbol("next block");
type Pending = Insn & { [NEXT]?: true };
const jumpK = (op: number, dst: number, imm: number): Pending => ({ ...insn(EBPF.JMP | op | EBPF.K, dst, 0, 0, imm), [NEXT]: true });
const jumpX = (op: number, dst: number, src: number): Pending => ({ ...insn(EBPF.JMP | op | EBPF.X, dst, src, 0, 0), [NEXT]: true });

/** "if (reg != value) goto next": JMP compares 64 bits with a sign-extended immediate, so a
 * number past 2^31-1 goes through r0 (mov32 zero-extends) to be compared as the u32 it is. */
function unlessEqual(reg: number, value: number): Pending[] {
  if (value <= 0x7fffffff) return [jumpK(EBPF.JNE, reg, value)];
  return [alu32(EBPF.MOV, R0, value | 0), jumpX(EBPF.JNE, reg, R0)];
}

/** The program's instructions for `state`. */
export function deviceInstructions(state: DeviceState): Insn[] {
  const out: Insn[] = [
    ldxw(R2, R1, 0),
    alu32(EBPF.AND, R2, 0xffff), // type
    ldxw(R3, R1, 0),
    alu32(EBPF.RSH, R3, 16), // access asked
    ldxw(R4, R1, 4), // major
    ldxw(R5, R1, 8), // minor
  ];
  const verdict = state.defaultAllow ? 0 : 1;
  for (const e of state.rules) {
    const bits = accessBits(e.access);
    const block: Pending[] = [jumpK(EBPF.JNE, R2, e.type === "b" ? DEVCG_DEV.BLOCK : DEVCG_DEV.CHAR)];
    if (verdict === 1) {
      // allow-exception: skip if anything asked is outside its access
      if (bits !== ACC_ALL) block.push(jumpK(EBPF.JSET, R3, ACC_ALL & ~bits));
    } else if (bits === ACC_ALL) {
      // deny-exception for all access: skip if nothing is asked (exec or access(X_OK) of a
      // node asks for no read, write or mknod, and v1 lets that through)
      block.push(jumpK(EBPF.JEQ, R3, 0));
    } else {
      // deny-exception: skip if nothing asked is in its access
      block.push(mov32x(R0, R3), alu32(EBPF.AND, R0, bits), jumpK(EBPF.JEQ, R0, 0));
    }
    if (e.major !== ANY) block.push(...unlessEqual(R4, e.major));
    if (e.minor !== ANY) block.push(...unlessEqual(R5, e.minor));
    block.push(alu32(EBPF.MOV, R0, verdict), exit());
    block.forEach((i, n) => {
      const { [NEXT]: pending, ...plain } = i;
      out.push(pending ? { ...plain, off: block.length - n - 1 } : plain);
    });
  }
  out.push(alu32(EBPF.MOV, R0, state.defaultAllow ? 1 : 0), exit());
  return out;
}

/** The program for `state`, as the bytes BPF_PROG_LOAD takes. */
export function deviceProgram(state: DeviceState): Buffer {
  return encodeProgram(deviceInstructions(state));
}
