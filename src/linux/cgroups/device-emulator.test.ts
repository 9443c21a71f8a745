import { describe, expect, test } from "bun:test";
import { BuncError } from "../../errors.ts";
import { ACC, deviceAllowed, emulateDeviceRules, type DeviceAccess, type DeviceState } from "./device-emulator.ts";
import { effectiveDeviceRules, type DeviceRule } from "./device-rules.ts";

const rule = (allow: boolean, type: string, major: number, minor: number, access: string): DeviceRule => ({ allow, type, major, minor, access });
const allow = (type: string, major: number, minor: number, access = "rwm") => rule(true, type, major, minor, access);
const deny = (type: string, major: number, minor: number, access = "rwm") => rule(false, type, major, minor, access);
const dev = (type: "b" | "c", major: number, minor: number, access: number | string): DeviceAccess => ({ type, major, minor, access });
const ok = (s: DeviceState, type: "b" | "c", major: number, minor: number, access: number | string) =>
  deviceAllowed(s, dev(type, major, minor, access));

describe("end state", () => {
  test("no rules: the root's state, allow everything", () => {
    expect(emulateDeviceRules([])).toEqual({ defaultAllow: true, rules: [], ignored: [] });
  });

  test("an 'a' rule resets to allow-all or deny-all and empties the list", () => {
    expect(emulateDeviceRules([deny("a", -1, -1)])).toEqual({ defaultAllow: false, rules: [], ignored: [] });
    const s = emulateDeviceRules([deny("a", -1, -1), allow("c", 1, 3), allow("a", -1, -1)]);
    expect(s).toEqual({ defaultAllow: true, rules: [], ignored: [] });
  });

  test("an 'a' rule ignores its numbers and access letters, as v1 does", () => {
    const s = emulateDeviceRules([deny("c", 1, 3, "r"), deny("a", 1, 3, "r")]);
    expect(s).toEqual({ defaultAllow: false, rules: [], ignored: [] });
    expect(ok(s, "c", 4, 1, "w")).toBe(false);
  });

  test("the usual container: deny all, then the default devices", () => {
    const s = emulateDeviceRules(effectiveDeviceRules([{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 10, minor: 200, access: "rwm" }]));
    expect(s.defaultAllow).toBe(false);
    expect(s.rules).toContainEqual({ type: "c", major: -1, minor: -1, access: "m" });
    expect(s.rules).toContainEqual({ type: "b", major: -1, minor: -1, access: "m" });
    expect(s.rules).toContainEqual({ type: "c", major: 1, minor: 3, access: "rwm" });
    expect(s.rules).toContainEqual({ type: "c", major: 136, minor: -1, access: "rwm" });
    expect(s.rules).toContainEqual({ type: "c", major: 10, minor: 200, access: "rwm" });
    expect(ok(s, "c", 1, 3, "rw")).toBe(true);
    expect(ok(s, "c", 136, 7, "rw")).toBe(true);
    expect(ok(s, "b", 8, 0, "r")).toBe(false);
    expect(ok(s, "b", 8, 0, "m")).toBe(true);
    expect(ok(s, "c", 1, 1, "r")).toBe(false); // /dev/mem
  });

  test("exceptions with the same numbers merge their access", () => {
    const s = emulateDeviceRules([deny("a", -1, -1), allow("c", 1, 3, "r"), allow("c", 1, 3, "w"), allow("c", 1, 3, "r")]);
    expect(s.rules).toEqual([{ type: "c", major: 1, minor: 3, access: "rw" }]);
  });

  test("a rule with the default's verdict takes access away from the same entry only", () => {
    let s = emulateDeviceRules([deny("a", -1, -1), allow("c", 1, 3), deny("c", 1, 3, "w")]);
    expect(s.rules).toEqual([{ type: "c", major: 1, minor: 3, access: "rm" }]);
    expect(s.ignored).toEqual([]);
    s = emulateDeviceRules([deny("a", -1, -1), allow("c", 1, 3), deny("c", 1, 3, "wr"), deny("c", 1, 3, "m")]);
    expect(s.rules).toEqual([]);
    s = emulateDeviceRules([deny("c", 1, 5, "r"), allow("c", 1, 5, "r")]);
    expect(s).toEqual({ defaultAllow: true, rules: [], ignored: [] });
  });

  test("no hole is punched in a wildcard exception: v1 ignores the rule, we note it", () => {
    const s = emulateDeviceRules([deny("a", -1, -1), allow("c", -1, -1), deny("c", 1, 3, "rw")]);
    expect(s.rules).toEqual([{ type: "c", major: -1, minor: -1, access: "rwm" }]);
    expect(s.ignored).toEqual([deny("c", 1, 3, "rw")]);
    expect(ok(s, "c", 1, 3, "r")).toBe(true);
  });

  test("a wildcard rule does not lift narrower exceptions", () => {
    const s = emulateDeviceRules([deny("c", 1, 3), allow("c", -1, -1)]);
    expect(s.defaultAllow).toBe(true);
    expect(s.rules).toEqual([{ type: "c", major: 1, minor: 3, access: "rwm" }]);
    expect(s.ignored).toEqual([allow("c", -1, -1)]);
    expect(ok(s, "c", 1, 3, "r")).toBe(false);
    expect(ok(s, "c", 1, 5, "r")).toBe(true);
  });

  test("a removal that overlaps nothing is neither an error nor ignored", () => {
    const s = emulateDeviceRules([allow("c", 1, 3), deny("a", -1, -1), deny("b", 8, 0)]);
    expect(s).toEqual({ defaultAllow: false, rules: [], ignored: [] });
  });

  test("types, numbers and letters are matched as v1 does", () => {
    const s = emulateDeviceRules([deny("a", -1, -1), allow("c", 4294967295, 3, "mrw"), allow("b", 8, -1, "")]);
    expect(s.rules).toEqual([{ type: "c", major: -1, minor: 3, access: "rwm" }]); // ~0 is the wildcard; "" adds nothing
    expect(ok(s, "c", 7, 3, "r")).toBe(true);
    expect(ok(s, "b", 7, 3, "r")).toBe(false);
  });

  test("bad rules are config errors naming the rule", () => {
    const bad = [rule(true, "p", 1, 3, "r"), allow("c", 1, 3, "rx"), allow("c", -2, 3), allow("c", 1.5, 3), allow("c", 1, 2 ** 32)];
    for (const r of bad) {
      expect(() => emulateDeviceRules([r])).toThrow(BuncError);
      expect(() => emulateDeviceRules([r])).toThrow(/linux\.resources\.devices: allow/);
    }
  });
});

describe("verdicts", () => {
  test("default deny: one exception must hold every bit asked", () => {
    const s = emulateDeviceRules([deny("a", -1, -1), allow("c", 1, -1, "r"), allow("c", 1, 3, "w")]);
    expect(ok(s, "c", 1, 3, "r")).toBe(true);
    expect(ok(s, "c", 1, 3, "w")).toBe(true);
    expect(ok(s, "c", 1, 3, "rw")).toBe(false); // O_RDWR: no single exception has both
    expect(ok(s, "c", 1, 9, "r")).toBe(true);
    expect(ok(s, "c", 1, 9, "m")).toBe(false);
    expect(ok(s, "b", 1, 3, "r")).toBe(false);
  });

  test("default allow: any exception sharing a bit refuses", () => {
    const s = emulateDeviceRules([deny("c", 1, 5, "r")]);
    expect(ok(s, "c", 1, 5, "r")).toBe(false);
    expect(ok(s, "c", 1, 5, "rw")).toBe(false); // O_RDWR asks for read too
    expect(ok(s, "c", 1, 5, "w")).toBe(true);
    expect(ok(s, "c", 1, 5, "m")).toBe(true);
    expect(ok(s, "c", 1, 3, "r")).toBe(true);
    expect(ok(s, "b", 1, 5, "r")).toBe(true);
  });

  test("an access asking no bit (exec of a node) passes unless no exception names the device in deny mode", () => {
    const allowMode = emulateDeviceRules([deny("c", 1, 5)]);
    expect(ok(allowMode, "c", 1, 5, 0)).toBe(true);
    const denyMode = emulateDeviceRules([deny("a", -1, -1), allow("c", 1, 3, "r")]);
    expect(ok(denyMode, "c", 1, 3, 0)).toBe(true);
    expect(ok(denyMode, "c", 1, 5, 0)).toBe(false);
  });

  test("access as bits or letters", () => {
    const s = emulateDeviceRules([deny("a", -1, -1), allow("b", 8, 0, "rm")]);
    expect(ok(s, "b", 8, 0, ACC.READ | ACC.MKNOD)).toBe(ok(s, "b", 8, 0, "rm"));
    expect(ok(s, "b", 8, 0, ACC.WRITE)).toBe(false);
  });
});
