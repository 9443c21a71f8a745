import { describe, expect, test } from "bun:test";
import { PR } from "../../ffi/constants.ts";
import { RecordingSys } from "../../ffi/recording-sys.ts";
import { applyCredentials, applyRlimits } from "./credentials.ts";
import { lastCapability } from "./capabilities.ts";

describe("applyCredentials", () => {
  test("drops the bounding set before changing ids, keeps caps across the change, sets exact sets after", () => {
    const sys = new RecordingSys();
    applyCredentials(sys, { uid: 1000, gid: 1000, additionalGids: [5, 6] }, {
      bounding: ["CAP_KILL", "CAP_CHOWN"],
      effective: ["CAP_KILL"],
      permitted: ["CAP_KILL"],
    }, true);
    const names = sys.names();
    const drops = sys.calls.filter((c) => c.call === "capBoundingDrop").map((c) => c.args[0]);
    expect(drops).not.toContain(0); // CAP_CHOWN kept
    expect(drops).not.toContain(5); // CAP_KILL kept
    expect(drops.length).toBe(lastCapability() + 1 - 2);
    const order = ["capBoundingDrop", "prctl", "setgroups", "setresgid", "setresuid", "capset", "ambientClearAll"];
    const positions = order.map((n) => names.indexOf(n));
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(sys.calls.find((c) => c.call === "prctl")!.args).toEqual([PR.SET_KEEPCAPS, 1, 0]);
    expect(sys.calls.find((c) => c.call === "setgroups")!.args[0]).toEqual([5, 6]);
    const capset = sys.calls.find((c) => c.call === "capset")!.args[0] as { effective: bigint; inheritable: bigint };
    expect(capset.effective).toBe(1n << 5n);
    // Never configured: never granted (CVE-2022-29162).
    expect(capset.inheritable).toBe(0n);
  });

  test("ambient capabilities are raised last", () => {
    const sys = new RecordingSys();
    applyCredentials(sys, { uid: 0, gid: 0 }, { bounding: ["CAP_NET_RAW"], permitted: ["CAP_NET_RAW"], inheritable: ["CAP_NET_RAW"], ambient: ["CAP_NET_RAW"] }, true);
    expect(sys.names().at(-1)).toBe("ambientRaise");
    expect(sys.calls.at(-1)!.args).toEqual([13]);
  });

  test("no setgroups where the user namespace forbids it", () => {
    const sys = new RecordingSys();
    applyCredentials(sys, { uid: 0, gid: 0 }, undefined, false);
    expect(sys.names()).not.toContain("setgroups");
  });

  test("an unknown capability is refused by name", () => {
    expect(() => applyCredentials(new RecordingSys(), { uid: 0, gid: 0 }, { bounding: ["CAP_FLY"] }, true)).toThrow(/CAP_FLY/);
  });
});

describe("applyRlimits", () => {
  test("maps names to resources and the largest value to infinity", () => {
    const sys = new RecordingSys();
    applyRlimits(sys, [
      { type: "RLIMIT_NOFILE", soft: 1024, hard: 4096 },
      { type: "RLIMIT_CORE", soft: 2 ** 64, hard: 2 ** 64 },
    ]);
    expect(sys.calls[0]!.args).toEqual([7, 1024n, 4096n, "RLIMIT_NOFILE"]);
    expect(sys.calls[1]!.args).toEqual([4, 0xffffffffffffffffn, 0xffffffffffffffffn, "RLIMIT_CORE"]);
  });
});
