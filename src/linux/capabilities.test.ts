import { describe, expect, test } from "bun:test";
import { CAPABILITIES, capabilityMask, isCapabilityName, lastCapability } from "./capabilities.ts";

describe("capabilities", () => {
  test("table covers bits 0..40 once each", () => {
    const bits = Object.values(CAPABILITIES).sort((a, b) => a - b);
    expect(bits).toEqual(Array.from({ length: 41 }, (_, i) => i));
    expect(CAPABILITIES.CAP_CHOWN).toBe(0);
    expect(CAPABILITIES.CAP_SYS_ADMIN).toBe(21);
    expect(CAPABILITIES.CAP_CHECKPOINT_RESTORE).toBe(40);
    for (const name of Object.keys(CAPABILITIES)) expect(name).toMatch(/^CAP_[A-Z_]+$/);
  });

  test("capabilityMask sets the named bits", () => {
    expect(capabilityMask([])).toBe(0n);
    expect(capabilityMask(["CAP_CHOWN"])).toBe(1n);
    expect(capabilityMask(["CAP_KILL", "CAP_NET_BIND_SERVICE"])).toBe((1n << 5n) | (1n << 10n));
    expect(capabilityMask(["CAP_CHECKPOINT_RESTORE"])).toBe(1n << 40n);
    expect(capabilityMask(["CAP_KILL", "CAP_KILL"])).toBe(1n << 5n);
    expect(capabilityMask(Object.keys(CAPABILITIES))).toBe((1n << 41n) - 1n);
  });

  test("capabilityMask refuses unknown names, unprefixed names and inherited keys", () => {
    expect(() => capabilityMask(["CAP_FLY"])).toThrow(/unknown capability "CAP_FLY"/);
    expect(() => capabilityMask(["CHOWN"])).toThrow(/unknown capability/);
    expect(() => capabilityMask(["toString"])).toThrow(/unknown capability/);
    expect(isCapabilityName("constructor")).toBe(false);
    expect(isCapabilityName("CAP_BPF")).toBe(true);
  });

  test("lastCapability is a plausible bit number", () => {
    const last = lastCapability();
    expect(Number.isInteger(last)).toBe(true);
    expect(last).toBeGreaterThanOrEqual(30);
    expect(last).toBeLessThan(64);
    expect(lastCapability()).toBe(last);
  });
});
