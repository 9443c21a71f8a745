import { expect, test } from "bun:test";
import { classifyEntry, cleanKey, cleanParts, inRootPath } from "./entry-path.ts";

test("cleanKey agrees with a full lexical clean on ordinary and hostile names", () => {
  const names = ["a", "a/", "a/b", "a/b/", "/a/b", "./a", "a/./b", "a//b", "../a", "a/../../b", "..", ".", "./", "/", "", "a/..", ".a/..b", "a/.../b", "...", "..a/b.."];
  for (const n of names) expect(cleanKey(n)).toBe(cleanParts(n).join("/"));
});

test("inRootPath splits a key into parent and name", () => {
  expect(inRootPath("a/b/c")).toEqual({ key: "a/b/c", parent: "a/b", name: "c" });
  expect(inRootPath("a")).toEqual({ key: "a", parent: "", name: "a" });
  expect(inRootPath("")).toEqual({ key: "", parent: "", name: "" });
});

test("classifyEntry: whiteouts, opaque markers, aufs names and refusals", () => {
  expect(classifyEntry("etc/.wh.passwd")).toEqual({ kind: "whiteout", dir: "etc", name: "passwd" });
  expect(classifyEntry("./.wh.x")).toEqual({ kind: "whiteout", dir: "", name: "x" });
  expect(classifyEntry("a/../b/.wh.x")).toEqual({ kind: "whiteout", dir: "b", name: "x" });
  expect(classifyEntry("a/.wh..wh..opq")).toEqual({ kind: "opaque", dir: "a" });
  expect(classifyEntry(".wh..wh.plnk/1")).toEqual({ kind: "path", path: inRootPath(".wh..wh.plnk/1") });
  expect(classifyEntry("a/.wh..wh.plnk")).toEqual({ kind: "aufs-meta", dir: "a" });
  expect(classifyEntry(".wh.etc/file")).toEqual({ kind: "path", path: inRootPath(".wh.etc/file") });
  for (const bad of [".wh..", ".wh...", "etc/.wh..", "etc/.wh.", "a\0b", "x/".repeat(3000)]) expect(classifyEntry(bad).kind).toBe("invalid");
});
