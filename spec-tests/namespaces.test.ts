// config-linux.md, namespaces: each type asked for is new (a different inode from the
// host's), a type left out is shared, a path joins an existing namespace (of the right type
// only), and a user namespace applies its uid/gid mappings.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { bindMount, containerFixture, expectOk, expectRefused, hostDir, isLiveProcess, nsLink, readOr, stateOf, waitFor } from "./support/assertions.ts";

const fx = containerFixture();

// /proc/self/ns/<name> for each config type.
const PROC_NAME: Record<string, string> = { pid: "pid", network: "net", ipc: "ipc", uts: "uts", mount: "mnt", cgroup: "cgroup", user: "user" };

/** Runs `readlink /proc/self/ns/<name>` for each type inside the container; name → link. */
function containerNamespaces(opts: Parameters<typeof fx.run>[0] = {}): Record<string, string> {
  const names = Object.values(PROC_NAME);
  const r = fx.run({ ...opts, args: ["sh", "-c", `for n in ${names.join(" ")}; do readlink /proc/self/ns/$n; done`] });
  const links = expectOk(r).trimEnd().split("\n");
  expect(links).toHaveLength(names.length);
  return Object.fromEntries(names.map((n, i) => [n, links[i]!]));
}

/** Starts util-linux `unshare` holding a new namespace of `flag` (--net, --uts …) with a
 *  `sleep`; returns its pid once the namespace is in place. The caller kills it. */
function holder(flag: string, procName: string) {
  const child = Bun.spawn(["unshare", flag, "sleep", "1000"], { stdio: ["ignore", "ignore", "inherit"] });
  waitFor(() => {
    try {
      return nsLink(child.pid, procName) !== nsLink("self", procName);
    } catch {
      return false;
    }
  }, `unshare ${flag} to enter its namespace`);
  return child;
}

describe("new namespaces", () => {
  test("each namespace in the config differs from the host's", () => {
    const inside = containerNamespaces();
    for (const type of ["pid", "network", "ipc", "uts", "mount", "cgroup"]) {
      const name = PROC_NAME[type]!;
      expect(`${type}: ${inside[name]}`).not.toBe(`${type}: ${nsLink("self", name)}`);
    }
  });

  test("a namespace left out of the config is the host's", () => {
    const inside = containerNamespaces({
      mutate: (c) => {
        c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== "network" && n.type !== "ipc");
        // sysfs and mqueue need a net and ipc namespace of their own
        c.mounts = c.mounts!.filter((m) => m.type !== "sysfs" && m.type !== "mqueue");
      },
    });
    expect(inside.net).toBe(nsLink("self", "net"));
    expect(inside.ipc).toBe(nsLink("self", "ipc"));
    expect(inside.uts).not.toBe(nsLink("self", "uts"));
  });

  test("pid: the process is PID 1", () => {
    expect(expectOk(fx.run({ args: ["sh", "-c", "echo $$"] }))).toBe("1\n");
    const stat = expectOk(fx.run({ args: ["cat", "/proc/self/stat"] }));
    expect(stat.split(" ")[0]).toBe("1");
  });

  test("pid: only the container's processes are visible", () => {
    const out = expectOk(fx.run({ args: ["sh", "-c", "ls -d /proc/[0-9]*"] }));
    // the shell and the ls it runs
    expect(out.trimEnd().split("\n").length).toBeLessThanOrEqual(2);
    expect(out).toContain("/proc/1\n");
  });

  test("network: only the loopback interface", () => {
    const dev = expectOk(fx.run({ args: ["cat", "/proc/net/dev"] }));
    const interfaces = dev
      .split("\n")
      .slice(2)
      .filter((l) => l.includes(":"))
      .map((l) => l.split(":")[0]!.trim());
    expect(interfaces).toEqual(["lo"]);
  });

  test("uts: the hostname is the config's", () => {
    expect(expectOk(fx.run({ args: ["hostname"], config: { hostname: "ns-test-host" } }))).toBe("ns-test-host\n");
  });

  test("mount: the container's mounts are not in the host's mount table", () => {
    const b = fx.bundle({ args: ["sh", "-c", "echo up > /x/ready; while :; do sleep 0.1; done"] });
    const shared = hostDir(b);
    b.config.mounts!.push(bindMount(shared, "/x"));
    b.writeConfig();
    const id = fx.rt.id();
    expectOk(fx.rt.bunc(["run", "-d", "--bundle", b.dir, id]));
    waitFor(() => existsSync(join(shared, "ready")), "the container to run");
    const hostMounts = readOr("/proc/self/mountinfo");
    expect(hostMounts).not.toContain(b.dir);
    const { pid } = stateOf(fx.rt.bunc(["state", id]));
    const inside = readOr(`/proc/${pid}/mountinfo`);
    expect(inside).toContain(" /x ");
    expect(inside).toContain(" /proc ");
  });
});

// Without a pid namespace of its own the container's processes are not killed with its
// init: kill -a and delete -f must find them.
describe("a container in the host's pid namespace", () => {
  function hostPidContainer() {
    const b = fx.bundle({ args: ["sh", "-c", "sleep 1000 & echo $! > /x/child; while :; do sleep 0.1; done"] });
    const shared = hostDir(b);
    b.config.mounts!.push(bindMount(shared, "/x"));
    b.config.linux!.namespaces = b.config.linux!.namespaces!.filter((n) => n.type !== "pid");
    b.writeConfig();
    const id = fx.rt.id();
    expectOk(fx.rt.bunc(["run", "-d", "--bundle", b.dir, id]));
    const child = Number(waitFor(() => readOr(join(shared, "child")).trim(), "the child's pid"));
    expect(isLiveProcess(child)).toBe(true);
    return { id, child };
  }

  test("kill -a KILL kills the init's children too", () => {
    const { id, child } = hostPidContainer();
    expectOk(fx.rt.bunc(["kill", "-a", id, "KILL"]));
    waitFor(() => stateOf(fx.rt.bunc(["state", id])).status === "stopped", "the container to stop");
    waitFor(() => !isLiveProcess(child), `the child (pid ${child}) to die`, 5_000);
  });

  test("delete -f kills the init's children too", () => {
    const { id, child } = hostPidContainer();
    expectOk(fx.rt.bunc(["delete", "-f", id]));
    waitFor(() => !isLiveProcess(child), `the child (pid ${child}) to die`, 5_000);
  });
});

describe("joining by path", () => {
  test("network: the container joins the namespace at the path", async () => {
    const h = holder("--net", "net");
    try {
      const path = `/proc/${h.pid}/ns/net`;
      const inside = containerNamespaces({
        mutate: (c) => {
          c.linux!.namespaces = c.linux!.namespaces!.map((n) => (n.type === "network" ? { type: "network", path } : n));
        },
      });
      expect(inside.net).toBe(nsLink(h.pid, "net"));
      expect(inside.net).not.toBe(nsLink("self", "net"));
    } finally {
      h.kill("SIGKILL");
      await h.exited;
    }
  });

  test("uts: the container joins the namespace of another container", () => {
    const holderBundle = fx.bundle({ args: ["sleep", "1000"], config: { hostname: "the-holder" } });
    const holderId = fx.rt.id();
    expectOk(fx.rt.bunc(["create", "--bundle", holderBundle.dir, holderId]));
    const { pid } = stateOf(fx.rt.bunc(["state", holderId]));
    const out = expectOk(
      fx.run({
        args: ["sh", "-c", "hostname; readlink /proc/self/ns/uts"],
        mutate: (c) => {
          delete c.hostname;
          c.linux!.namespaces = c.linux!.namespaces!.map((n) => (n.type === "uts" ? { type: "uts", path: `/proc/${pid}/ns/uts` } : n));
        },
      }),
    );
    expect(out).toBe(`the-holder\n${nsLink(pid, "uts")}\n`);
  });

  test("a path to a namespace of another type is refused and leaves nothing", async () => {
    const h = holder("--uts", "uts");
    try {
      const path = `/proc/${h.pid}/ns/uts`;
      const b = fx.bundle({
        args: ["true"],
        mutate: (c) => {
          c.linux!.namespaces = c.linux!.namespaces!.map((n) => (n.type === "network" ? { type: "network", path } : n));
        },
      });
      const id = fx.rt.id();
      const r = fx.rt.bunc(["create", "--bundle", b.dir, id]);
      expectRefused(r, "linux.namespaces", path);
      expectRefused(fx.rt.bunc(["state", id]), id);
      fx.rt.assertNoLeftovers();
    } finally {
      h.kill("SIGKILL");
      await h.exited;
    }
  });
});

describe("user namespace", () => {
  const userns = {
    mutate: (c: import("./support/bundle.ts").RuntimeConfig) => {
      c.linux!.namespaces!.push({ type: "user" });
      c.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    },
  };
  const words = (s: string) => s.trim().split(/\s+/);

  test("uid_map and gid_map show the configured mappings", () => {
    const out = expectOk(fx.run({ ...userns, args: ["cat", "/proc/self/uid_map", "/proc/self/gid_map"] }));
    const [uid, gid] = out.trimEnd().split("\n");
    expect(words(uid!)).toEqual(["0", "100000", "65536"]);
    expect(words(gid!)).toEqual(["0", "100000", "65536"]);
  });

  test("the process is root inside and the namespace is new", () => {
    const out = expectOk(fx.run({ ...userns, args: ["sh", "-c", "id; readlink /proc/self/ns/user"] }));
    const [id, link] = out.trimEnd().split("\n");
    expect(id).toBe("uid=0(root) gid=0(root)");
    expect(link).not.toBe(nsLink("self", "user"));
  });

  test("the process runs as the mapped host uid", () => {
    const b = fx.bundle({ ...userns, args: ["sh", "-c", "echo up > /x/ready; while :; do sleep 0.1; done"] });
    const shared = hostDir(b);
    // the mapped root may not create /x in a rootfs owned by the host's root
    mkdirSync(join(b.rootfs, "x"));
    b.config.mounts!.push(bindMount(shared, "/x"));
    b.writeConfig();
    const id = fx.rt.id();
    expectOk(fx.rt.bunc(["run", "-d", "--bundle", b.dir, id]));
    waitFor(() => existsSync(join(shared, "ready")), "the container to run");
    const { pid } = stateOf(fx.rt.bunc(["state", id]));
    const status = readOr(`/proc/${pid}/status`);
    expect(status).toMatch(/^Uid:\s+100000\s+100000\s+100000\s+100000$/m);
    expect(status).toMatch(/^Gid:\s+100000\s+100000\s+100000\s+100000$/m);
  });
});
