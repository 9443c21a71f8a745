import { describe, expect, test } from "bun:test";
import { checkSysctlNamespaces, sysctlPath } from "./sysctl.ts";

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

describe("checkSysctlNamespaces", () => {
  test("a key in the runtime's own namespace, joined by path, is refused naming the key", () => {
    expect(() => checkSysctlNamespaces({ "net.ipv4.ip_forward": "1" }, [{ type: "network", path: "/proc/self/ns/net" }])).toThrow(
      /linux\.sysctl\["net\.ipv4\.ip_forward"\]: not allowed in the host's network namespace/,
    );
    expect(() => checkSysctlNamespaces({ "kernel/shmmni": "1" }, [{ type: "ipc", path: "/proc/self/ns/ipc" }])).toThrow(/host's IPC namespace/);
  });

  test("a new namespace, or a key of another namespace than the joined one, passes", () => {
    expect(() => checkSysctlNamespaces({ "net.ipv4.ip_forward": "1" }, [{ type: "network" }])).not.toThrow();
    expect(() => checkSysctlNamespaces({ "kernel.shmmni": "1" }, [{ type: "network", path: "/proc/self/ns/net" }, { type: "ipc" }])).not.toThrow();
  });
});
