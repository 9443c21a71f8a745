import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BuncError } from "../errors.ts";
import { loadConfig, parseConfig } from "./validate-config.ts";

// tests poke at arbitrary JSON
type Json = any;

const fixture = readFileSync(join(import.meta.dir, "testdata/runc-config.json"), "utf8");
const base = (): Json => JSON.parse(fixture);
const parse = (cfg: Json) => parseConfig(JSON.stringify(cfg), "config.json");

function errorOf(fn: () => unknown): BuncError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BuncError);
    expect((err as BuncError).code).toBe("config");
    return err as BuncError;
  }
  throw new Error("expected a config error, got none");
}

/** Change the fixture, expect a refusal naming `field` and containing each fragment. */
function refuse(change: (c: Json) => void, field: string, ...fragments: string[]): void {
  const c = base();
  change(c);
  const { message } = errorOf(() => parse(c));
  expect(message).toStartWith(`config.json: ${field}: `);
  for (const f of fragments) expect(message).toContain(f);
}

function accept(change: (c: Json) => void): void {
  const c = base();
  change(c);
  expect(() => parse(c)).not.toThrow();
}

describe("parseConfig", () => {
  test("accepts a runc-style config", () => {
    const spec = parse(base());
    expect(spec.process?.args).toEqual(["sh"]);
    expect(spec.linux?.namespaces?.map((n) => n.type)).toContain("mount");
    expect(spec.mounts?.[1]?.options).toContain("mode=755");
  });

  test("ignores unknown fields, keeping them in the output", () => {
    const c = base();
    c.vendorExtension = { anything: [1, 2] };
    c.process.futureField = true;
    c.linux.resources.somethingNew = { x: 1 };
    c.mounts[0].extra = "x";
    c.windows = { layerFolders: [] };
    const spec = parse(c) as Json;
    expect(spec.vendorExtension).toEqual({ anything: [1, 2] });
    expect(spec.mounts[0].extra).toBe("x");
  });

  test("malformed JSON names the file and the position", () => {
    const { message } = errorOf(() => parseConfig('{\n  "ociVersion": "1.0.0",\n  "root": }', "/bundle/config.json"));
    expect(message).toBe('/bundle/config.json: invalid JSON at line 3, column 11: unexpected "}", expected a value');
  });

  test("a document that is not an object", () => {
    for (const text of ["[]", "null", '"x"', "1"]) {
      expect(errorOf(() => parseConfig(text, "config.json")).message).toStartWith("config.json: top level: expected a JSON object");
    }
  });

  test("schema issues name the field path and the value", () => {
    refuse((c) => (c.mounts[2].destination = 5), "mounts[2].destination", "expected string", "5");
    refuse((c) => delete c.mounts[3].destination, "mounts[3].destination", "required but missing");
    refuse((c) => (c.process.user.uid = 2 ** 32), "process.user.uid", "4294967296", "out of range");
    refuse((c) => (c.linux.namespaces[1].type = "net"), "linux.namespaces[1].type", '"net"');
    refuse((c) => (c.linux.sysctl["net.core.somaxconn"] = 5), 'linux.sysctl["net.core.somaxconn"]', "expected string");
    refuse((c) => (c.linux.rootfsPropagation = "rshare"), "linux.rootfsPropagation", '"rshare"');
  });
});

describe("ociVersion", () => {
  test("must be semver with major 1", () => {
    for (const ok of ["1.0.0", "1.0.2-dev", "1.3.0", "1.2.1+dev.abc", "1.1.0-rc.1+build.5", "1.99.0"]) {
      accept((c) => (c.ociVersion = ok));
    }
    refuse((c) => (c.ociVersion = "invalid"), "ociVersion", '"invalid"', "semantic version");
    refuse((c) => (c.ociVersion = "1.0"), "ociVersion", '"1.0"');
    refuse((c) => (c.ociVersion = "01.0.0"), "ociVersion", '"01.0.0"');
    refuse((c) => (c.ociVersion = "2.0.0"), "ociVersion", '"2.0.0"', "1.x");
    refuse((c) => (c.ociVersion = "0.1.0"), "ociVersion", '"0.1.0"');
    refuse((c) => delete c.ociVersion, "ociVersion", "required");
  });
});

describe("root", () => {
  test("path is required and non-empty", () => {
    refuse((c) => delete c.root, "root", "required");
    refuse((c) => delete c.root.path, "root.path", "required");
    refuse((c) => (c.root.path = ""), "root.path", "empty");
    refuse((c) => (c.root.path = "root\0fs"), "root.path", "NUL");
    accept((c) => (c.root.path = "/abs/rootfs"));
  });
});

describe("process", () => {
  test("may be absent", () => accept((c) => delete c.process));

  test("args must name a program", () => {
    refuse((c) => delete c.process.args, "process.args", "required but missing");
    refuse((c) => (c.process.args = []), "process.args", "[]");
    refuse((c) => (c.process.args = [""]), "process.args[0]", "empty");
    refuse((c) => (c.process.args = ["sh", "-c", "a\0b"]), "process.args[2]", "\\u0000", "NUL");
  });

  test("cwd must be absolute", () => {
    refuse((c) => (c.process.cwd = "work"), "process.cwd", '"work"', "absolute");
    refuse((c) => delete c.process.cwd, "process.cwd", "required");
    refuse((c) => (c.process.cwd = "/a\0"), "process.cwd", "NUL");
  });

  test("env entries are NAME=value", () => {
    refuse((c) => c.process.env.push("NOEQUALS"), "process.env[3]", '"NOEQUALS"', "NAME=value");
    refuse((c) => c.process.env.push("=x"), "process.env[3]", "empty name");
    refuse((c) => c.process.env.push("A=\0"), "process.env[3]", "NUL");
    accept((c) => c.process.env.push("A=b=c"));
  });

  test("capabilities must be known, with the CAP_ prefix", () => {
    refuse((c) => (c.process.capabilities.bounding[1] = "CAP_FLY"), "process.capabilities.bounding[1]", '"CAP_FLY"');
    refuse((c) => (c.process.capabilities.effective = ["KILL"]), "process.capabilities.effective[0]", '"KILL"');
    refuse((c) => (c.process.capabilities.ambient = ["cap_kill"]), "process.capabilities.ambient[0]", '"cap_kill"');
    refuse((c) => (c.process.capabilities.inheritable = ["toString"]), "process.capabilities.inheritable[0]");
    accept((c) => (c.process.capabilities.ambient = ["CAP_CHECKPOINT_RESTORE", "CAP_BPF"]));
  });

  test("rlimits: known types, no duplicates, soft <= hard", () => {
    refuse((c) => (c.process.rlimits[0].type = "RLIMIT_FOO"), "process.rlimits[0].type", '"RLIMIT_FOO"');
    refuse((c) => (c.process.rlimits[0].type = "NOFILE"), "process.rlimits[0].type", '"NOFILE"');
    refuse(
      (c) => c.process.rlimits.push({ type: "RLIMIT_NOFILE", soft: 1, hard: 2 }),
      "process.rlimits[1].type",
      "twice",
    );
    refuse((c) => (c.process.rlimits[0].soft = 2048), "process.rlimits[0].soft", "2048", "1024");
    refuse((c) => (c.process.rlimits[0].hard = -1), "process.rlimits[0].hard", "-1");
    refuse((c) => (c.process.rlimits[0].hard = 1.5), "process.rlimits[0].hard", "not an integer");
    refuse((c) => delete c.process.rlimits[0].soft, "process.rlimits[0].soft", "required");
  });

  test("rlimits accept uint64 max as unlimited", () => {
    const text = fixture.replace('"hard": 1024, "soft": 1024', '"hard": 18446744073709551615, "soft": 18446744073709551615');
    expect(text).not.toBe(fixture);
    const spec = parseConfig(text, "config.json");
    expect(spec.process?.rlimits?.[0]?.hard).toBe(2 ** 64);
  });

  test("user ids: uint32 only, and never (uid_t)-1", () => {
    refuse((c) => (c.process.user.uid = 2 ** 32 - 1), "process.user.uid", "4294967295");
    refuse((c) => (c.process.user.gid = 2 ** 32 - 1), "process.user.gid", "4294967295");
    refuse((c) => (c.process.user.additionalGids = [5, 2 ** 32 - 1]), "process.user.additionalGids[1]");
    refuse((c) => (c.process.user.uid = -1), "process.user.uid", "-1");
    accept((c) => (c.process.user.uid = 2 ** 31));
    const c = base();
    c.process.user = {};
    expect(parse(c).process?.user).toEqual({ uid: 0, gid: 0 });
  });

  test("console size fits a struct winsize", () => {
    refuse((c) => (c.process.consoleSize.width = 65536), "process.consoleSize.width", "65536");
  });

  test("oomScoreAdj within the kernel's range", () => {
    refuse((c) => (c.process.oomScoreAdj = 1001), "process.oomScoreAdj", "1001");
    accept((c) => (c.process.oomScoreAdj = -1000));
  });
});

describe("mounts", () => {
  test("destination must be absolute and free of NUL", () => {
    refuse((c) => (c.mounts[2].destination = "dev/pts"), "mounts[2].destination", '"dev/pts"', "absolute");
    refuse((c) => (c.mounts[0].destination = "/pr\0c"), "mounts[0].destination", "NUL");
    refuse((c) => (c.mounts[0].source = "pr\0c"), "mounts[0].source", "NUL");
    refuse((c) => (c.mounts[1].options[1] = "a\0"), "mounts[1].options[1]", "NUL");
  });

  test("a mount on / and a mount without type are allowed", () => {
    accept((c) => c.mounts.push({ destination: "/", source: "/x", options: ["rbind"] }));
    accept((c) => c.mounts.push({ destination: "/data" }));
  });

  test("idmapped mounts: sizes >= 1", () => {
    const map = { containerID: 0, hostID: 100000, size: 0 };
    refuse((c) => (c.mounts[0].uidMappings = [map]), "mounts[0].uidMappings[0].size", "0");
  });
});

describe("hooks", () => {
  test("path absolute, timeout > 0, env NAME=value", () => {
    refuse((c) => (c.hooks.createRuntime[0].path = "true"), "hooks.createRuntime[0].path", '"true"');
    refuse((c) => (c.hooks.createRuntime[0].timeout = 0), "hooks.createRuntime[0].timeout", "0");
    refuse((c) => (c.hooks.createRuntime[0].env = ["X"]), "hooks.createRuntime[0].env[0]", '"X"');
    refuse((c) => (c.hooks.poststop = [{ args: [] }]), "hooks.poststop[0].path", "required");
  });
});

describe("linux.namespaces", () => {
  test("known types, no duplicates, absolute paths", () => {
    refuse((c) => c.linux.namespaces.push({ type: "foo" }), "linux.namespaces[6].type", '"foo"');
    refuse((c) => c.linux.namespaces.push({ type: "pid" }), "linux.namespaces[6].type", '"pid"', "twice");
    refuse((c) => (c.linux.namespaces[0].path = "proc/1/ns/pid"), "linux.namespaces[0].path", '"proc/1/ns/pid"');
    accept((c) => (c.linux.namespaces[0].path = "/proc/1/ns/pid"));
    accept((c) => (c.linux.namespaces[0].path = ""));
    accept((c) => c.linux.namespaces.push({ type: "time" }));
  });
});

describe("user namespace and mappings", () => {
  const map = { containerID: 0, hostID: 100000, size: 65536 };

  test("mappings need a user namespace", () => {
    refuse((c) => (c.linux.uidMappings = [map]), "linux.uidMappings", "user namespace");
    refuse((c) => (c.linux.gidMappings = [map]), "linux.gidMappings", "user namespace");
  });

  test("a new user namespace needs both mappings", () => {
    refuse((c) => c.linux.namespaces.push({ type: "user" }), "linux.uidMappings", "needs uid mappings");
    refuse(
      (c) => {
        c.linux.namespaces.push({ type: "user" });
        c.linux.uidMappings = [map];
      },
      "linux.gidMappings",
      "needs gid mappings",
    );
    accept((c) => {
      c.linux.namespaces.push({ type: "user" });
      c.linux.uidMappings = [map];
      c.linux.gidMappings = [map];
    });
    accept((c) => c.linux.namespaces.push({ type: "user", path: "/proc/1/ns/user" }));
  });

  test("in a new user namespace the process's uid, gid and additional gids must be mapped", () => {
    const own = { containerID: 0, hostID: 1000, size: 1 };
    const userns = (c: Json, user: Json) => {
      c.linux.namespaces.push({ type: "user" });
      c.linux.uidMappings = [own];
      c.linux.gidMappings = [own, { containerID: 5, hostID: 200000, size: 1 }];
      c.process.user = user;
    };
    accept((c) => userns(c, { uid: 0, gid: 0, additionalGids: [5] }));
    refuse((c) => userns(c, { uid: 1000, gid: 0 }), "process.user.uid", "1000 is not mapped in the user namespace (linux.uidMappings map 0)");
    refuse((c) => userns(c, { uid: 0, gid: 7 }), "process.user.gid", "7 is not mapped in the user namespace (linux.gidMappings map 0, 5)");
    refuse((c) => userns(c, { uid: 0, gid: 0, additionalGids: [5, 6] }), "process.user.additionalGids[1]", "6 is not mapped");
  });

  test("sizes >= 1, ranges inside uint32, no wrap", () => {
    const userns = (c: Json, uid: Json) => {
      c.linux.namespaces.push({ type: "user" });
      c.linux.uidMappings = [uid];
      c.linux.gidMappings = [map];
    };
    refuse((c) => userns(c, { ...map, size: 0 }), "linux.uidMappings[0].size", "0");
    refuse((c) => userns(c, { ...map, hostID: 2 ** 32 }), "linux.uidMappings[0].hostID", "4294967296");
    refuse((c) => userns(c, { ...map, containerID: 2 ** 32 - 1, size: 2 }), "linux.uidMappings[0]", "containerID");
    refuse((c) => userns(c, { ...map, hostID: 2 ** 32 - 10, size: 11 }), "linux.uidMappings[0]", "hostID");
    refuse((c) => userns(c, { ...map, size: 1.5 }), "linux.uidMappings[0].size", "not an integer");
    accept((c) => userns(c, { containerID: 0, hostID: 2 ** 31, size: 2 ** 31 }));
  });
});

describe("hostname and domainname", () => {
  const withoutUts = (c: Json) => (c.linux.namespaces = c.linux.namespaces.filter((n: Json) => n.type !== "uts"));

  test("need a UTS namespace", () => {
    refuse(withoutUts, "hostname", '"runc"', "UTS namespace");
    refuse(
      (c) => {
        withoutUts(c);
        delete c.hostname;
        c.domainname = "example.org";
      },
      "domainname",
      '"example.org"',
    );
    accept((c) => {
      withoutUts(c);
      delete c.hostname;
    });
    accept((c) => {
      withoutUts(c);
      c.hostname = "";
    });
    accept((c) => (c.domainname = "example.org"));
  });
});

describe("linux.rootfsPropagation", () => {
  test("one of the mount propagation modes", () => {
    for (const p of ["", "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable"]) {
      accept((c) => (c.linux.rootfsPropagation = p));
    }
    refuse((c) => (c.linux.rootfsPropagation = "public"), "linux.rootfsPropagation", '"public"');
  });
});

describe("linux.sysctl", () => {
  const set = (key: string, value = "1") => (c: Json) => (c.linux.sysctl = { [key]: value });
  const dropNs = (type: string) => (c: Json) =>
    (c.linux.namespaces = c.linux.namespaces.filter((n: Json) => n.type !== type));

  test("values carry one setting", () => {
    refuse(set("net.ipv4.ip_forward", "1\nkernel.core_pattern=|/evil"), 'linux.sysctl["net.ipv4.ip_forward"]', "newline");
    refuse(set("net.ipv4.ip_forward", "1\0"), 'linux.sysctl["net.ipv4.ip_forward"]', "NUL");
    accept(set("net.ipv4.ip_local_port_range", "1024 65000"));
    accept(set("net.ipv4.ping_group_range", "0=1"));
  });

  test("names cannot walk out of /proc/sys", () => {
    refuse(set("net/../../etc/passwd"), 'linux.sysctl["net/../../etc/passwd"]', "not a valid sysctl name");
    refuse(set("net..ipv4"), 'linux.sysctl["net..ipv4"]');
    refuse(set("net.ipv4 .x"), 'linux.sysctl["net.ipv4 .x"]');
    accept(set("net/ipv4/conf/eth0.100/forwarding"));
  });

  test("hostname and domainname have their own fields", () => {
    refuse(set("kernel.hostname", "x"), 'linux.sysctl["kernel.hostname"]', '"hostname" field');
    refuse(set("kernel.domainname", "x"), 'linux.sysctl["kernel.domainname"]', '"domainname" field');
    refuse(set("kernel/hostname", "x"), 'linux.sysctl["kernel/hostname"]');
  });

  test("IPC sysctls need an IPC namespace", () => {
    for (const key of ["kernel.shmmax", "kernel.msgmnb", "kernel.sem", "kernel.shm_rmid_forced", "fs.mqueue.queues_max"]) {
      accept(set(key));
      refuse((c) => (dropNs("ipc")(c), set(key)(c)), `linux.sysctl[${JSON.stringify(key)}]`, "IPC namespace");
    }
  });

  test("net sysctls need a network namespace", () => {
    refuse((c) => (dropNs("network")(c), set("net.core.somaxconn")(c)), 'linux.sysctl["net.core.somaxconn"]', "network");
  });

  test("other sysctls are not namespaced", () => {
    for (const key of ["kernel.core_pattern", "vm.overcommit_memory", "fs.file-max", "kernel.pid_max", "net"]) {
      refuse(set(key), `linux.sysctl[${JSON.stringify(key)}]`, "not a namespaced sysctl");
    }
  });
});

describe("other linux paths", () => {
  test("maskedPaths and readonlyPaths: absolute, and only in a mount namespace", () => {
    refuse((c) => c.linux.maskedPaths.push("proc/kcore"), "linux.maskedPaths[10]", '"proc/kcore"');
    refuse((c) => (c.linux.readonlyPaths[0] = "/proc/b\0us"), "linux.readonlyPaths[0]", "NUL");
    refuse(
      (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: Json) => n.type !== "mount")),
      "linux.maskedPaths",
      "mount namespace",
    );
  });

  test("rootfsPropagation only in a mount namespace", () => {
    const noMount = (c: Json) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: Json) => n.type !== "mount");
      c.linux.maskedPaths = [];
      c.linux.readonlyPaths = [];
      delete c.linux.rootfsPropagation;
    };
    accept(noMount);
    refuse((c) => (noMount(c), (c.linux.rootfsPropagation = "rslave")), "linux.rootfsPropagation", "mount namespace");
    accept((c) => (c.linux.rootfsPropagation = "rslave"));
  });

  test("devices: absolute path, known type, numbers unless a fifo", () => {
    refuse((c) => (c.linux.devices[0].path = "dev/fuse"), "linux.devices[0].path", '"dev/fuse"');
    refuse((c) => (c.linux.devices[0].type = "x"), "linux.devices[0].type", '"x"');
    refuse((c) => delete c.linux.devices[0].major, "linux.devices[0]", "major");
    accept((c) => c.linux.devices.push({ type: "p", path: "/dev/fifo" }));
  });

  test("timeOffsets need a time namespace", () => {
    refuse((c) => (c.linux.timeOffsets = { monotonic: { secs: 10 } }), "linux.timeOffsets", "time namespace");
    accept((c) => (c.linux.timeOffsets = {}));
    accept((c) => {
      c.linux.timeOffsets = { monotonic: { secs: -10, nanosecs: 5 } };
      c.linux.namespaces.push({ type: "time" });
    });
  });

  test("resources stay permissive but typed where simple", () => {
    accept((c) => (c.linux.resources = { unified: { "memory.high": "max" }, newController: { any: "thing" } }));
    refuse((c) => (c.linux.resources.memory.limit = "1G"), "linux.resources.memory.limit", '"1G"');
    refuse((c) => (c.linux.resources.devices[0].allow = "no"), "linux.resources.devices[0].allow", '"no"');
  });
});

describe("loadConfig", () => {
  test("reads <bundle>/config.json", () => {
    const dir = mkdtempSync(join(tmpdir(), "bunc-spec-"));
    try {
      writeFileSync(join(dir, "config.json"), fixture);
      expect(loadConfig(dir).hostname).toBe("runc");
      writeFileSync(join(dir, "config.json"), "{");
      expect(errorOf(() => loadConfig(dir)).message).toStartWith(`${join(dir, "config.json")}: invalid JSON at line 1`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a missing file names the path", () => {
    const dir = mkdtempSync(join(tmpdir(), "bunc-spec-"));
    try {
      const err = errorOf(() => loadConfig(dir));
      expect(err.message).toContain(join(dir, "config.json"));
      expect(err.message).toContain("no such file");
      expect(err.errno).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
