import { describe, expect, test } from "bun:test";
import { sysctlPath } from "./sysctl.ts";

describe("sysctlPath", () => {
  test("dots separate the steps of a key", () => {
    expect(sysctlPath("net.ipv4.ip_forward")).toBe("/proc/sys/net/ipv4/ip_forward");
  });

  test("with slashes, a dot belongs to the name", () => {
    expect(sysctlPath("net/ipv4/ip_forward")).toBe("/proc/sys/net/ipv4/ip_forward");
    expect(sysctlPath("net/ipv4/conf/eth0.100/forwarding")).toBe("/proc/sys/net/ipv4/conf/eth0.100/forwarding");
  });

  test("keys that could name another file or a second key are refused", () => {
    for (const key of ["", "net..ipv4", "net/../kernel/x", "/net/ipv4", "net/./x", "a=b", "a+b", "a b", "net.ipv4\\x"]) {
      expect(() => sysctlPath(key)).toThrow(/linux\.sysctl: invalid key/);
    }
  });
});
