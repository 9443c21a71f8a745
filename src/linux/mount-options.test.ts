import { describe, expect, test } from "bun:test";
import { MOUNT_ATTR, MS } from "../../ffi/constants.ts";
import { attributesOf, parseMountOptions } from "./mount-options.ts";

describe("parseMountOptions", () => {
  test("flags, data and propagation are separated", () => {
    const o = parseMountOptions(["nosuid", "nodev", "ro", "mode=755", "size=65536k", "rshared"], "tmpfs");
    expect(o.flags).toBe(MS.NOSUID | MS.NODEV | MS.RDONLY);
    expect(o.data).toEqual(["mode=755", "size=65536k"]);
    expect(o.propagation).toEqual([MS.SHARED | MS.REC]);
    expect(o.bind).toBe(false);
  });

  test("later options win and clear what they undo", () => {
    const o = parseMountOptions(["ro", "rw", "nosuid", "suid"]);
    expect(o.flags).toBe(0);
    expect(o.clear & MS.RDONLY).toBe(MS.RDONLY);
  });

  test("bind and rbind, by type or option", () => {
    expect(parseMountOptions(undefined, "bind").bind).toBe(true);
    const r = parseMountOptions(["rbind"], "none");
    expect(r.bind && r.recursive).toBe(true);
  });

  test("recursive attributes go to mount_setattr", () => {
    const o = parseMountOptions(["rro", "rnosuid"]);
    expect(o.recursiveSet).toBe(BigInt(MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID));
    expect(o.data).toEqual([]);
  });
});

describe("attributesOf", () => {
  test("sets what is asked and clears only what is explicitly undone", () => {
    expect(attributesOf(MS.RDONLY | MS.NOSUID, 0)).toEqual({ set: BigInt(MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID), clear: 0n });
    expect(attributesOf(0, MS.RDONLY)).toEqual({ set: 0n, clear: BigInt(MOUNT_ATTR.RDONLY) });
  });
});
