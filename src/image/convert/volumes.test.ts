import { describe, expect, test } from "bun:test";
import { checkVolumePath, volumeMounts } from "./volumes.ts";

describe("Config.Volumes → tmpfs mounts", () => {
  test("one tmpfs per volume, nosuid nodev mode 755, parents before children", () => {
    expect(volumeMounts({ "/var/lib/db/wal": {}, "/data": {}, "/var/lib/db": {} })).toEqual([
      { destination: "/data", type: "tmpfs", source: "tmpfs", options: ["rw", "nosuid", "nodev", "mode=755"] },
      { destination: "/var/lib/db", type: "tmpfs", source: "tmpfs", options: ["rw", "nosuid", "nodev", "mode=755"] },
      { destination: "/var/lib/db/wal", type: "tmpfs", source: "tmpfs", options: ["rw", "nosuid", "nodev", "mode=755"] },
    ]);
  });

  test("no volumes, no mounts", () => {
    expect(volumeMounts(null)).toEqual([]);
    expect(volumeMounts({})).toEqual([]);
  });

  const refused: [string, RegExp][] = [
    ["data", /not an absolute path/],
    ["./data", /not an absolute path/],
    ["/", /cannot be the root directory/],
    ["/data/../../etc", /not a normalized path/],
    ["/..", /not a normalized path/],
    ["/data/./x", /not a normalized path/],
    ["//data", /not a normalized path/],
    ["/data/", /not a normalized path/],
    ["/proc", /\/proc is reserved/],
    ["/sys/fs/cgroup", /\/sys is reserved/],
    ["/a\0b", /NUL/],
  ];
  for (const [path, why] of refused) {
    test(`${JSON.stringify(path)} is refused, naming the volume`, () => {
      expect(() => checkVolumePath(path)).toThrow(why);
      expect(() => volumeMounts({ "/ok": {}, [path]: {} })).toThrow(`image config: Config.Volumes[${JSON.stringify(path)}]`);
    });
  }

  test("names that merely look like the reserved ones are fine", () => {
    expect(() => checkVolumePath("/processes")).not.toThrow();
    expect(() => checkVolumePath("/system/..data")).not.toThrow();
  });
});
