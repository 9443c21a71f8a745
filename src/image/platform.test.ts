import { describe, expect, test } from "bun:test";
import { hostPlatform, parsePlatform, platformRank } from "./platform.ts";

describe("platforms", () => {
  test("host uses GOARCH names", () => {
    const h = hostPlatform();
    expect(h.os).toBe("linux");
    expect(["amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64"]).toContain(h.architecture);
  });

  test("--platform parsing", () => {
    expect(parsePlatform("linux/arm/v7")).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
    expect(parsePlatform("linux/amd64")).toEqual({ os: "linux", architecture: "amd64" });
    expect(() => parsePlatform("linux")).toThrow(/os\/arch/);
    expect(() => parsePlatform("linux/x86_64")).toThrow(/unknown architecture "x86_64"/);
    expect(() => parsePlatform("linux/arm/v9")).toThrow(/variant/);
  });

  test("ARM variants fall back only to older ones", () => {
    const v7 = { os: "linux", architecture: "arm", variant: "v7" };
    expect(platformRank(v7, { os: "linux", architecture: "arm", variant: "v7" })).toBe(0);
    expect(platformRank(v7, { os: "linux", architecture: "arm", variant: "v6" })).toBe(1);
    expect(platformRank(v7, { os: "linux", architecture: "arm", variant: "v5" })).toBe(2);
    expect(platformRank(v7, { os: "linux", architecture: "arm", variant: "v8" })).toBeUndefined();
    expect(platformRank(v7, { os: "linux", architecture: "arm" })).toBe(0); // no variant means v7
    const v8 = { os: "linux", architecture: "arm64", variant: "v8" };
    expect(platformRank(v8, { os: "linux", architecture: "arm64" })).toBe(0);
    expect(platformRank(v8, { os: "linux", architecture: "arm", variant: "v7" })).toBeUndefined();
  });

  test("os and architecture must be equal; other variants exactly", () => {
    const amd = { os: "linux", architecture: "amd64" };
    expect(platformRank(amd, { os: "linux", architecture: "amd64" })).toBe(0);
    expect(platformRank(amd, { os: "windows", architecture: "amd64" })).toBeUndefined();
    expect(platformRank(amd, { os: "linux", architecture: "amd64", variant: "v3" })).toBeUndefined();
  });
});
