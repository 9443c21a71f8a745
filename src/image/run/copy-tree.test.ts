// The copy used where overlayfs cannot mount: everything `cp -a` keeps is kept. Owners and
// device nodes need root, as the runtime tests do.
import { afterEach, expect, test } from "bun:test";
import { chmodSync, lchownSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyTree } from "./copy-tree.ts";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

test("modes (setuid, sticky), owners, times, symlinks, hard links, fifos and device nodes are kept", () => {
  dir = mkdtempSync(join(tmpdir(), "bunc-copy-tree-"));
  const from = join(dir, "from");
  mkdirSync(join(from, "sub"), { recursive: true });
  writeFileSync(join(from, "sub", "file"), "content");
  lchownSync(join(from, "sub", "file"), 1234, 5678);
  chmodSync(join(from, "sub", "file"), 0o4750); // after chown, which clears setuid
  linkSync(join(from, "sub", "file"), join(from, "hardlink"));
  symlinkSync("sub/file", join(from, "link"));
  lchownSync(join(from, "link"), 42, 43);
  mkdirSync(join(from, "tmp"));
  chmodSync(join(from, "tmp"), 0o1777);
  Bun.spawnSync(["mkfifo", join(from, "fifo")]);
  Bun.spawnSync(["mknod", join(from, "null"), "c", "1", "3"]);
  utimesSync(join(from, "sub"), new Date(1_000_000_000_000), new Date(1_000_000_000_000));

  const to = join(dir, "to");
  copyTree(from, to);
  const file = lstatSync(join(to, "sub", "file"));
  expect(readFileSync(join(to, "sub", "file"), "utf8")).toBe("content");
  expect([file.mode & 0o7777, file.uid, file.gid]).toEqual([0o4750, 1234, 5678]);
  expect(lstatSync(join(to, "hardlink")).ino).toBe(file.ino);
  expect(readlinkSync(join(to, "link"))).toBe("sub/file");
  expect([lstatSync(join(to, "link")).uid, lstatSync(join(to, "link")).gid]).toEqual([42, 43]);
  expect(lstatSync(join(to, "tmp")).mode & 0o7777).toBe(0o1777);
  expect(lstatSync(join(to, "fifo")).isFIFO()).toBe(true);
  const dev = lstatSync(join(to, "null"));
  expect([dev.isCharacterDevice(), dev.rdev]).toEqual([true, lstatSync(join(from, "null")).rdev]);
  expect(lstatSync(join(to, "sub")).mtimeMs).toBe(1_000_000_000_000);
});
