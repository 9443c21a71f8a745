import { describe, expect, test } from "bun:test";
import { posix } from "node:path";
import { isAbsolutePath, joinPath, normalizePath, resolvePath } from "./posix-path.ts";

const samples = ["", ".", "/", "//", "a", "/a/b/../c", "a/../../b", "../x", "/../../x", "a/./b/", "/a//b///c/", "./", "a/..", "/a/..", "..", "../..", "a/b/../../..", "/x/y/.."];

describe("posix-path", () => {
  test("normalizePath agrees with node's posix.normalize", () => {
    for (const s of samples) expect([s, normalizePath(s)]).toEqual([s, posix.normalize(s)]);
  });
  test("joinPath agrees with node's posix.join", () => {
    const pairs: [string, string][] = [["/bundle", "rootfs"], ["/bundle/", "../x"], ["", "a"], ["a", ""], ["/usr/bin", "sh"], [".", "sh"], ["/", "/etc"]];
    for (const [a, b] of pairs) expect([a, b, joinPath(a, b)]).toEqual([a, b, posix.join(a, b)]);
  });
  test("isAbsolutePath", () => {
    expect(isAbsolutePath("/x")).toBe(true);
    expect(isAbsolutePath("x/y")).toBe(false);
  });
});

test("resolvePath agrees with node's posix.resolve", () => {
  for (const p of ["/a/b/", "rel/x", ".", "/", "../up", "/x/../y"]) expect([p, resolvePath(p)]).toEqual([p, posix.resolve(p)]);
});
