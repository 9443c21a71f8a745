import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readlinkPath, readTextFile, removePath, renamePath, writeNewFile } from "./files.ts";
import { ENOENT } from "./errors.ts";

const dir = mkdtempSync(join(tmpdir(), "bunc-files-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("readTextFile reads a small file, and a procfs file of size 0 to its end", () => {
  writeFileSync(join(dir, "small"), "héllo\n");
  expect(readTextFile(join(dir, "small"))).toBe("héllo\n");
  expect(readTextFile("/proc/self/status")).toContain(`Pid:\t${process.pid}\n`);
});

test("readTextFile reads past its 64 KiB buffer without splitting a character", () => {
  // "é" is two bytes: 65535 ASCII bytes put one across the first buffer's end.
  const text = `${"a".repeat(65535)}é${"b".repeat(70000)}`;
  writeFileSync(join(dir, "big"), text);
  expect(readTextFile(join(dir, "big"))).toBe(text);
  expect(readTextFile(join(dir, "small"))).toBe("héllo\n"); // the grown buffer leaves no trace
});

test("readTextFile of a missing file names it and ENOENT", () => {
  expect(() => readTextFile(join(dir, "none"))).toThrow(/open .*none: ENOENT/);
});

test("writeNewFile creates with the mode given, renamePath moves it over", () => {
  writeNewFile(join(dir, "tmp"), "one", 0o600);
  expect(statSync(join(dir, "tmp")).mode & 0o777).toBe(0o600);
  writeNewFile(join(dir, "tmp"), "two", 0o600); // truncates
  renamePath(join(dir, "tmp"), join(dir, "final"));
  expect(readFileSync(join(dir, "final"), "utf8")).toBe("two");
  expect(existsSync(join(dir, "tmp"))).toBe(false);
});

test("removePath unlinks files and, with dir, empty directories; errors carry the errno", () => {
  writeFileSync(join(dir, "gone"), "");
  removePath(join(dir, "gone"));
  mkdirSync(join(dir, "empty"));
  removePath(join(dir, "empty"), true);
  expect(existsSync(join(dir, "empty"))).toBe(false);
  let errno: number | undefined;
  try {
    removePath(join(dir, "gone"));
  } catch (err) {
    errno = (err as { errno?: number }).errno;
  }
  expect(errno).toBe(ENOENT);
});

test("readlinkPath gives a symlink's target and a namespace's magic link", () => {
  symlinkSync("some/where", join(dir, "link"));
  expect(readlinkPath(join(dir, "link"))).toBe("some/where");
  expect(readlinkPath("/proc/self/ns/pid")).toMatch(/^pid:\[\d+\]$/);
});
