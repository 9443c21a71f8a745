import { describe, expect, test } from "bun:test";
import { mapsFromRanges, missingSubIdRanges, parseSubIds, userName } from "./subids.ts";

describe("sub-id files", () => {
  const text = "alice:100000:65536\n1001:300000:1000\n# comment\nbob:200000:65536\nalice:bad:1\nalice:500000:0\n";
  test("lines for the user by name or number; malformed and empty ranges are skipped", () => {
    expect(parseSubIds(text, "alice", 1000)).toEqual([{ start: 100000, count: 65536 }]);
    expect(parseSubIds(text, "carol", 1001)).toEqual([{ start: 300000, count: 1000 }]);
    expect(parseSubIds(text, undefined, 7)).toEqual([]);
  });
  test("a mapping is covered by the caller's own id or one range that holds it whole", () => {
    const ranges = [{ start: 100000, count: 65536 }];
    const own = { containerID: 0, hostID: 1000, size: 1 };
    const inside = { containerID: 1, hostID: 100000, size: 65536 };
    const over = { containerID: 1, hostID: 100000, size: 65537 };
    const elsewhere = { containerID: 1, hostID: 5, size: 1 };
    expect(missingSubIdRanges([own, inside], 1000, ranges)).toEqual([]);
    expect(missingSubIdRanges([own, over, elsewhere], 1000, ranges)).toEqual([over, elsewhere]);
  });
  test("user names come from the passwd text", () => {
    expect(userName(1000, "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n")).toBe("alice");
    expect(userName(1001, "alice:x:1000:1000::/home/alice:/bin/sh\n")).toBeUndefined();
  });
  test("wide maps: the caller's own id is 0, its ranges follow from 1 in order", () => {
    expect(mapsFromRanges(1000, [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }])).toEqual([
      { containerID: 0, hostID: 1000, size: 1 },
      { containerID: 1, hostID: 100000, size: 65536 },
      { containerID: 65537, hostID: 300000, size: 10 },
    ]);
  });
});
