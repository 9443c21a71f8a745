import { describe, expect, test } from "bun:test";
import { encodeRootlessOwner, OwnerTally } from "./rootless-owner.ts";

describe("user.rootlesscontainers", () => {
  test("protobuf Resource{uid, gid}: zero fields left out, varints for the rest", () => {
    expect([...encodeRootlessOwner(0, 0)]).toEqual([]);
    expect([...encodeRootlessOwner(1000, 0)]).toEqual([0x08, 0xe8, 0x07]);
    expect([...encodeRootlessOwner(0, 5)]).toEqual([0x10, 0x05]);
    expect([...encodeRootlessOwner(4294967294, 1)]).toEqual([0x08, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0x10, 0x01]);
  });
  test("one warning for the unpack, with the highest ids; none when all is root's", () => {
    const t = new OwnerTally();
    t.note(0, 0, true);
    expect(t.warning()).toBeUndefined();
    t.note(1000, 50, true);
    t.note(70000, 10, false);
    expect(t.warning()).toBe(
      "not running as root: the image's files belong to uids up to 70000 and gids up to 50; 1 owner(s) kept in the user.rootlesscontainers xattr; 1 owner(s) could not be kept (no user xattrs there) and are yours now",
    );
  });
});
