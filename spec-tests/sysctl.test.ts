// config-linux.md "Sysctl", with runc's namespace rules: an IPC key needs the container's own
// IPC namespace, a net.* key its own network namespace, kernel.hostname and
// kernel.domainname have fields of their own, anything else would change the host. Each
// value is written as one record. Values are read back from /proc/sys inside; the host's
// stay as they were.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { containerFixture, expectOk, expectRefused, readOr, waitFor } from "./support/assertions.ts";
import type { RuntimeConfig } from "./support/bundle.ts";
import { expectNothingLeft, withUserns } from "./support/config-checks.ts";

const fx = containerFixture();

const hostValue = (key: string) => readFileSync(`/proc/sys/${key.replaceAll(".", "/")}`, "utf8");

/** Runs `cat` of each key's /proc/sys file inside with `sysctl` set; returns the output. */
function readInside(sysctl: Record<string, string>, keys = Object.keys(sysctl), mutate?: (c: RuntimeConfig) => void): string {
  const files = keys.map((k) => `/proc/sys/${k.replaceAll(".", "/")}`);
  return expectOk(fx.run({ args: ["cat", ...files], config: { linux: { sysctl } }, mutate }));
}

/** A config with `sysctl` is refused, naming each of `patterns`, and leaves nothing. */
function refused(sysctl: Record<string, string>, mutate: ((c: RuntimeConfig) => void) | undefined, ...patterns: (string | RegExp)[]) {
  const b = fx.bundle({ args: ["true"], config: { linux: { sysctl } }, mutate });
  const id = fx.rt.id();
  expectRefused(fx.rt.bunc(["run", "--bundle", b.dir, id]), ...patterns);
  expectRefused(fx.rt.bunc(["state", id]), id);
  expectNothingLeft(fx.rt);
}

const without = (type: string) => (c: RuntimeConfig) => {
  c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== type);
  // sysfs needs a network namespace of its own, mqueue an IPC one
  c.mounts = c.mounts!.filter((m) => !(type === "network" && m.type === "sysfs") && !(type === "ipc" && m.type === "mqueue"));
};

describe("set in the container's namespaces", () => {
  test("IPC keys (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*) in its own IPC namespace", () => {
    const keys = ["kernel.shmmni", "kernel.msgmax", "kernel.sem", "fs.mqueue.queues_max"];
    const before = keys.map(hostValue);
    const out = readInside({ "kernel.shmmni": "1234", "kernel.msgmax": "4321", "kernel.sem": "250 32000 32 77", "fs.mqueue.queues_max": "17" });
    expect(out.split("\n").map((l) => l.replace(/\s+/g, " "))).toEqual(["1234", "4321", "250 32000 32 77", "17", ""]);
    expect(keys.map(hostValue)).toEqual(before);
  });

  test("net.* keys in its own network namespace", () => {
    const keys = ["net.ipv4.ip_forward", "net.ipv4.ip_local_port_range", "net.ipv4.conf.lo.rp_filter"];
    const before = keys.map(hostValue);
    const out = readInside({ "net.ipv4.ip_forward": "1", "net.ipv4.ip_local_port_range": "40000 50000", "net.ipv4.conf.lo.rp_filter": "2" });
    expect(out.split("\n").map((l) => l.replace(/\s+/g, " "))).toEqual(["1", "40000 50000", "2", ""]);
    expect(keys.map(hostValue)).toEqual(before);
  });

  test("in a user namespace too: the namespaces it owns take the values", () => {
    const before = hostValue("net.ipv4.ip_forward");
    const out = readInside({ "net.ipv4.ip_forward": before.trim() === "1" ? "0" : "1", "kernel.shmmni": "2345" }, undefined, withUserns);
    expect(out).toBe(`${before.trim() === "1" ? "0" : "1"}\n2345\n`);
    expect(hostValue("net.ipv4.ip_forward")).toBe(before);
  });

  test("a key written with slashes, as sysctl(8) takes it", () => {
    expect(readInside({ "net/ipv4/ip_forward": "1" }, ["net.ipv4.ip_forward"])).toBe("1\n");
  });

  test("the values are set although /proc/sys is read-only for the process", () => {
    const r = fx.run({ args: ["sh", "-c", "cat /proc/sys/kernel/shmmni; echo 99 > /proc/sys/kernel/shmmni"], config: { linux: { sysctl: { "kernel.shmmni": "555" } } } });
    expect(r.stdout).toBe("555\n");
    expect(r.stderr).toContain("Read-only file system");
  });
});

describe("refused by the namespace rules", () => {
  test("an IPC key without an IPC namespace of its own", () => {
    refused({ "kernel.shmmax": "1000000" }, without("ipc"), 'linux.sysctl["kernel.shmmax"]', "IPC namespace");
  });

  test("fs.mqueue.* without an IPC namespace of its own", () => {
    refused({ "fs.mqueue.msg_max": "20" }, without("ipc"), 'linux.sysctl["fs.mqueue.msg_max"]', "IPC namespace");
  });

  test("a net.* key without a network namespace of its own", () => {
    const before = hostValue("net.ipv4.ip_forward");
    refused({ "net.ipv4.ip_forward": before.trim() === "1" ? "0" : "1" }, without("network"), 'linux.sysctl["net.ipv4.ip_forward"]', "network namespace");
    expect(hostValue("net.ipv4.ip_forward")).toBe(before);
  });

  test("kernel.hostname and kernel.domainname point to their own fields", () => {
    refused({ "kernel.hostname": "other" }, undefined, 'linux.sysctl["kernel.hostname"]', '"hostname" field');
    refused({ "kernel/domainname": "other" }, undefined, 'linux.sysctl["kernel/domainname"]', '"domainname" field');
  });

  test("a key of no namespace would change the host", () => {
    const before = hostValue("vm.swappiness");
    refused({ "vm.swappiness": "1" }, undefined, 'linux.sysctl["vm.swappiness"]', "not a namespaced sysctl");
    refused({ "kernel.pid_max": "4194304" }, undefined, 'linux.sysctl["kernel.pid_max"]');
    expect(hostValue("vm.swappiness")).toBe(before);
  });
});

describe("namespaces joined by path", () => {
  /** A process holding a namespace: `unshare <flag> sleep` (a new one) or a plain sleep (the
   *  host's); killed by the caller. */
  async function withHolder<T>(unshareFlag: string | undefined, body: (pid: number) => T): Promise<T> {
    const cmd = unshareFlag ? ["unshare", unshareFlag, "sleep", "1000"] : ["sleep", "1000"];
    const child = Bun.spawn(cmd, { stdio: ["ignore", "ignore", "inherit"] });
    try {
      // unshare execs sleep once the namespace is in place
      waitFor(() => readOr(`/proc/${child.pid}/comm`).trim() === "sleep", "the holder to start");
      return body(child.pid);
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
  }
  const joining = (type: string, path: string) => (c: RuntimeConfig) => {
    c.linux!.namespaces = c.linux!.namespaces!.map((n) => (n.type === type ? { type, path } : n));
    if (type === "network") c.mounts = c.mounts!.filter((m) => m.type !== "sysfs");
    if (type === "ipc") c.mounts = c.mounts!.filter((m) => m.type !== "mqueue");
  };

  test("net.* in the host's network namespace, joined by path, is refused (as runc refuses it)", async () => {
    const value = hostValue("net.ipv4.ip_forward").trim();
    await withHolder(undefined, (pid) => {
      // the host's own value: even a wrong acceptance would change nothing
      refused({ "net.ipv4.ip_forward": value }, joining("network", `/proc/${pid}/ns/net`), 'linux.sysctl["net.ipv4.ip_forward"]', "host's network namespace");
    });
  });

  test("an IPC key in the host's IPC namespace, joined by path, is refused", async () => {
    const value = hostValue("kernel.shmmni").trim();
    await withHolder(undefined, (pid) => {
      refused({ "kernel.shmmni": value }, joining("ipc", `/proc/${pid}/ns/ipc`), 'linux.sysctl["kernel.shmmni"]', "host's IPC namespace");
    });
  });

  test("net.* in another network namespace joined by path is set there", async () => {
    const before = hostValue("net.ipv4.ip_forward");
    const value = before.trim() === "1" ? "0" : "1";
    await withHolder("--net", (pid) => {
      expect(readInside({ "net.ipv4.ip_forward": value }, undefined, joining("network", `/proc/${pid}/ns/net`))).toBe(`${value}\n`);
    });
    expect(hostValue("net.ipv4.ip_forward")).toBe(before);
  });
});

describe("one record per value", () => {
  test("a value with a newline is refused: it would smuggle a second write", () => {
    refused({ "kernel.shmmni": "1234\n5678" }, undefined, 'linux.sysctl["kernel.shmmni"]', "newline");
  });

  test("a value with '=' is written as it is, and the kernel's refusal names the key", () => {
    const before = hostValue("kernel.shmmni");
    refused({ "kernel.shmmni": "1234=5678" }, undefined, "kernel.shmmni", "1234=5678");
    expect(hostValue("kernel.shmmni")).toBe(before);
  });

  test("a key with '=' or '+' cannot name a second key", () => {
    refused({ "kernel.shmmni=1234": "1" }, undefined, "kernel.shmmni=1234");
    refused({ "net.ipv4.ip_forward+net.ipv4.conf.all.forwarding": "1" }, undefined, "net.ipv4.ip_forward+net.ipv4.conf.all.forwarding");
  });

  test("a key that climbs out of /proc/sys is refused", () => {
    refused({ "net.ipv4.../../../..": "1" }, undefined, "linux.sysctl");
    refused({ "net/../kernel/core_pattern": "|/bin/sh" }, undefined, "linux.sysctl", "not a valid sysctl name");
  });
});
