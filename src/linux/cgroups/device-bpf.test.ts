import { describe, expect, test } from "bun:test";
import { decodeProgram, deviceInstructions, deviceProgram, DEVCG_DEV, EBPF, encodeProgram } from "./device-bpf.ts";
import { runDeviceProgram } from "./device-bpf-interpreter.ts";
import { deviceAllowed, emulateDeviceRules, type DeviceState } from "./device-emulator.ts";
import { effectiveDeviceRules, type DeviceRule } from "./device-rules.ts";

const rule = (allow: boolean, type: string, major: number, minor: number, access = "rwm"): DeviceRule => ({ allow, type, major, minor, access });

const MAJORS = [0, 1, 2, 5, 8, 10, 136, 4095, 0x7fffffff, 0x80000000, 3_000_000_000, 0xfffffffe];
const MINORS = [0, 1, 3, 5, 7, 200, 0xfffff, 0x80000001, 0xfffffffe];

/** Every (type, access, major, minor) in the grids: the program agrees with v1's verdict. */
function expectAgreement(state: DeviceState, majors = MAJORS, minors = MINORS) {
  const program = deviceProgram(state);
  let checked = 0;
  for (const type of ["b", "c"] as const) {
    for (let access = 0; access <= 7; access++) {
      for (const major of majors) {
        for (const minor of minors) {
          const want = deviceAllowed(state, { type, major, minor, access }) ? 1 : 0;
          const got = runDeviceProgram(program, { type: type === "b" ? DEVCG_DEV.BLOCK : DEVCG_DEV.CHAR, access, major, minor });
          if (got !== want) {
            throw new Error(`${type} ${major}:${minor} access ${access}: program says ${got}, v1 says ${want} (${JSON.stringify(state)})`);
          }
          checked++;
        }
      }
    }
  }
  return checked;
}

describe("encoding", () => {
  test("struct bpf_insn: code, dst in the low nibble, src in the high one, s16 off, s32 imm", () => {
    const buf = encodeProgram([{ code: 0x5d, dst: 4, src: 0, off: -3, imm: -2 }, { code: 0x61, dst: 2, src: 1, off: 8, imm: 0 }]);
    expect([...buf]).toEqual([0x5d, 0x04, 0xfd, 0xff, 0xfe, 0xff, 0xff, 0xff, 0x61, 0x12, 0x08, 0x00, 0, 0, 0, 0]);
    expect(decodeProgram(buf)).toEqual([{ code: 0x5d, dst: 4, src: 0, off: -3, imm: -2 }, { code: 0x61, dst: 2, src: 1, off: 8, imm: 0 }]);
  });

  test("no exceptions: the loads, then the default verdict", () => {
    const insns = deviceInstructions({ defaultAllow: true, rules: [], ignored: [] });
    expect(insns.length).toBe(8);
    expect(insns.slice(-2)).toEqual([
      { code: EBPF.ALU | EBPF.MOV | EBPF.K, dst: 0, src: 0, off: 0, imm: 1 },
      { code: EBPF.JMP | EBPF.EXIT, dst: 0, src: 0, off: 0, imm: 0 },
    ]);
  });

  test("a block's jumps land on the next block", () => {
    const state = emulateDeviceRules([rule(false, "a", -1, -1), rule(true, "c", 1, 3, "r"), rule(true, "b", -1, 0)]);
    const insns = deviceInstructions(state);
    // c 1:3 r: jne type, jset access, jne major, jne minor, mov r0, exit
    expect(insns.slice(6, 12).map((i) => i.off)).toEqual([5, 4, 3, 2, 0, 0]);
    // b *:0 rwm: jne type, jne minor, mov, exit; then the default
    expect(insns.slice(12, 16).map((i) => i.off)).toEqual([3, 2, 0, 0]);
    expect(insns.length).toBe(18);
  });
});

describe("the program decides as v1 does", () => {
  const cases: Record<string, DeviceRule[]> = {
    "allow all": [],
    "deny all": [rule(false, "a", -1, -1)],
    "usual container": effectiveDeviceRules([{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 10, minor: 200, access: "rwm" }, { allow: true, type: "b", major: 8, minor: 0, access: "rwm" }]),
    "deny one read": [rule(false, "c", 1, 5, "r")],
    "deny partial access, wildcards": [rule(false, "c", 1, -1, "rw"), rule(false, "b", -1, 0, "m"), rule(false, "c", -1, -1, "w")],
    "allow partial, O_RDWR needs one exception": [rule(false, "a", -1, -1), rule(true, "c", 1, -1, "r"), rule(true, "c", 1, 3, "w"), rule(true, "b", 8, 0, "rm")],
    "numbers past 2^31": [rule(false, "a", -1, -1), rule(true, "c", 3_000_000_000, 0x80000001, "rw"), rule(true, "b", 0x7fffffff, -1, "w")],
    "deny past 2^31": [rule(false, "c", 0x80000000, -1, "r"), rule(false, "b", 5, 0xfffffffe)],
  };
  for (const [name, rules] of Object.entries(cases)) {
    test(name, () => {
      expect(expectAgreement(emulateDeviceRules(rules))).toBe(2 * 8 * MAJORS.length * MINORS.length);
    });
  }

  test("random rule lists", () => {
    // A small xorshift, seeded: the same lists every run.
    let seed = 0x9e3779b9;
    const next = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const pick = <T>(xs: readonly T[]) => xs[next(xs.length)]!;
    const majors = [-1, 1, 2, 3_000_000_000];
    const minors = [-1, 3, 5];
    const accesses = ["", "r", "w", "m", "rw", "rm", "wm", "rwm", "mr"];
    for (let n = 0; n < 400; n++) {
      const rules: DeviceRule[] = [];
      for (let k = next(10); k > 0; k--) {
        const type = next(12) === 0 ? "a" : pick(["b", "c"]);
        rules.push(rule(next(2) === 0, type, pick(majors), pick(minors), pick(accesses)));
      }
      expectAgreement(emulateDeviceRules(rules), [0, 1, 2, 7, 3_000_000_000], [0, 3, 5, 9]);
    }
  });
});
