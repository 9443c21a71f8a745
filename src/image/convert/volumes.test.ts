import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkVolumePath, volumeMounts } from "./volumes.ts";

const dir = mkdtempSync(join(tmpdir(), "bunc-convert-volumes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const rootfs = join(dir, "rootfs");
mkdirSync(rootfs);

const tmpfs = (destination: string, ...owner: string[]) => ({
  destination,
  type: "tmpfs",
  source: "tmpfs",
  options: ["rw", "nosuid", "nodev", ...(owner.length ? owner : ["mode=755"])],
});

describe("Config.Volumes → tmpfs mounts", () => {
  test("one tmpfs per volume, nosuid nodev, mode 755 when the image has no directory there, parents first", () => {
    expect(volumeMounts({ "/var/lib/db/wal": {}, "/data": {}, "/var/lib/db": {} }, rootfs)).toEqual([
      tmpfs("/data"),
      tmpfs("/var/lib/db"),
      tmpfs("/var/lib/db/wal"),
    ]);
  });

  test.skipIf(process.getuid?.() !== 0)("the tmpfs takes mode and owner of the image's directory", () => {
    mkdirSync(join(rootfs, "srv/cache"), { recursive: true });
    chownSync(join(rootfs, "srv/cache"), 1000, 1001);
    chmodSync(join(rootfs, "srv/cache"), 0o1770);
    expect(volumeMounts({ "/srv/cache": {} }, rootfs)).toEqual([tmpfs("/srv/cache", "mode=1770", "uid=1000", "gid=1001")]);
  });

  test("a symlink at the volume path is looked up inside the rootfs; a file there gives the default", () => {
    // On the host, the link would lead to the temp dir itself (a directory owned by root).
    symlinkSync(dir, join(rootfs, "linked"));
    writeFileSync(join(rootfs, "file"), "");
    expect(volumeMounts({ "/linked": {}, "/file": {} }, rootfs)).toEqual([tmpfs("/file"), tmpfs("/linked")]);
  });

  test("no volumes, no mounts", () => {
    expect(volumeMounts(null, rootfs)).toEqual([]);
    expect(volumeMounts({}, rootfs)).toEqual([]);
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
      expect(() => volumeMounts({ "/ok": {}, [path]: {} }, rootfs)).toThrow(`image config: Config.Volumes[${JSON.stringify(path)}]`);
    });
  }

  test("names that merely look like the reserved ones are fine", () => {
    expect(() => checkVolumePath("/processes")).not.toThrow();
    expect(() => checkVolumePath("/system/..data")).not.toThrow();
  });
});
