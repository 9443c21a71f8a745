import { describe, expect, test } from "bun:test";
import { parseImageName } from "./reference.ts";
import { parseRegistryReference } from "./registry/reference.ts";
import { isDigest } from "./digest.ts";
import { checkDigest } from "./registry/digest.ts";

const D = `sha256:${"a".repeat(64)}`;
const accepts = (f: () => unknown) => {
  try {
    f();
    return true;
  } catch {
    return false;
  }
};

describe("one grammar for store names and registry references", () => {
  test.each([
    "busybox",
    "a/b-c.d__e:v1.2_3",
    "localhost:5000/x/y:t",
    "[::1]:5000/x:t",
    `r.io/x:t@${D}`,
    "Upper",
    "a//b",
    "x:",
    "x:-bad",
    `x:${"t".repeat(129)}`,
    "x@sha256:abc",
    `x@md5:${"a".repeat(32)}`,
    "host:99999/a",
    "-bad.host/a",
    "[::1/a",
    "a".repeat(256),
  ])("%p is accepted by both or by neither", (text) => {
    expect(accepts(() => parseImageName(text))).toBe(accepts(() => parseRegistryReference(text)));
  });

  test("a host with a port and an IPv6 host are hosts in store names too", () => {
    expect(parseImageName("[::1]:5000/x:t")).toEqual({ repository: "[::1]:5000/x", tag: "t", domain: "[::1]:5000" });
    expect(() => parseImageName("host:99999/a")).toThrow(/registry port "99999"/);
  });

  test.each([D, `sha512:${"b".repeat(128)}`, "sha256:abc", `sha256:${"A".repeat(64)}`, "md5:00", "sha256:../../etc", ""])("digest %p: same verdict in both", (d) => {
    expect(isDigest(d)).toBe(accepts(() => checkDigest(d, "x")));
  });
});
