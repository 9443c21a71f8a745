import { describe, expect, test } from "bun:test";
import { parseImageName, parseImageReference, formatImageName } from "./reference.ts";

const D = `sha256:${"a".repeat(64)}`;

describe("parseImageName", () => {
  test("fills in latest and splits host, tag and digest", () => {
    expect(parseImageName("busybox")).toEqual({ repository: "busybox", tag: "latest" });
    expect(parseImageName("a/b-c.d__e:v1.2_3")).toEqual({ repository: "a/b-c.d__e", tag: "v1.2_3" });
    expect(parseImageName("localhost:5000/x/y:t")).toEqual({ repository: "localhost:5000/x/y", tag: "t", domain: "localhost:5000" });
    expect(parseImageName(`x@${D}`)).toEqual({ repository: "x", digest: D });
    expect(formatImageName(parseImageName(`r.io/x:t@${D}`))).toBe(`r.io/x:t@${D}`);
  });

  test.each([
    ["Upper", /path component/],
    ["a//b", /path component/],
    ["x:", /tag/],
    ["x:-bad", /tag/],
    [`x:${"t".repeat(129)}`, /tag/],
    ["", /empty/],
    ["x@sha256:abc", /sha256 needs 64/],
    [`x@sha256:${"A".repeat(64)}`, /lowercase hex/],
    [`x@md5:${"a".repeat(32)}`, /unsupported digest algorithm/],
    ["x@sha256:../../etc", /invalid digest/],
    [`${"a".repeat(256)}`, /longer than 255/],
  ])("refuses %p", (text, why) => {
    expect(() => parseImageName(text)).toThrow(why);
  });
});

describe("parseImageReference", () => {
  test("transports", () => {
    expect(parseImageReference("oci:/d")).toEqual({ transport: "oci", dir: "/d" });
    expect(parseImageReference("oci:/d:busybox:1")).toEqual({ transport: "oci", dir: "/d", ref: "busybox:1" });
    expect(parseImageReference("oci-archive:/f.tar:v1")).toEqual({ transport: "oci-archive", file: "/f.tar", ref: "v1" });
    expect(parseImageReference("docker-archive:/f.tar")).toEqual({ transport: "docker-archive", file: "/f.tar" });
    expect(parseImageReference("docker-archive:/f.tar:a/b:t")).toEqual({ transport: "docker-archive", file: "/f.tar", name: { repository: "a/b", tag: "t" } });
    expect(parseImageReference("docker-archive:/f.tar:@1")).toEqual({ transport: "docker-archive", file: "/f.tar", index: 1 });
    expect(parseImageReference("busybox:1")).toEqual({ transport: "store", name: { repository: "busybox", tag: "1" } });
  });

  test("registry references are parsed and normalised", () => {
    expect(parseImageReference("docker://busybox")).toEqual({
      transport: "registry",
      name: { repository: "docker.io/library/busybox", tag: "latest", domain: "docker.io" },
    });
    expect(parseImageReference("docker://quay.io/a/b@" + D)).toEqual({
      transport: "registry",
      name: { repository: "quay.io/a/b", digest: D, domain: "quay.io" },
    });
  });

  test("bad ones name the problem", () => {
    expect(() => parseImageReference("oci:")).toThrow(/path is empty/);
    expect(() => parseImageReference("oci:/d:a b")).toThrow(/may only hold/);
    expect(() => parseImageReference("docker-archive:/f:@x")).toThrow(/image number/);
    expect(() => parseImageReference("docker-archive:/f:a@" + D)).toThrow(/NAME:TAG/);
    expect(() => parseImageReference("dir:/x")).toThrow(/transport "dir:" is not supported/);
    expect(() => parseImageReference("")).toThrow(/empty/);
  });
});
