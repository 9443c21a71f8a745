import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { FeaturesSchema } from "./features.ts";
import { IDMappingSchema, LinuxDeviceSchema, RLIM_INFINITY, RlimitSchema, SpecSchema, rlimitValue } from "./runtime-config.ts";
import { StateSchema } from "./state.ts";

const ok = (schema: v.GenericSchema, input: unknown) => v.safeParse(schema, input).success;

describe("runtime config schema", () => {
  test("a minimal config", () => {
    expect(ok(SpecSchema, { ociVersion: "1.0.0", root: { path: "rootfs" } })).toBe(true);
    expect(ok(SpecSchema, { ociVersion: "1.0.0" })).toBe(false);
  });

  test("uint32 ids: 0 to 2^32-1, integers only", () => {
    for (const n of [0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1]) {
      expect(ok(IDMappingSchema, { containerID: n, hostID: n, size: 1 })).toBe(true);
    }
    for (const n of [-1, 2 ** 32, 2 ** 33, 0.5, Number.NaN, Number.POSITIVE_INFINITY, "0", null]) {
      expect(ok(IDMappingSchema, { containerID: n, hostID: 0, size: 1 })).toBe(false);
    }
  });

  test("rlimit values are uint64", () => {
    expect(ok(RlimitSchema, { type: "RLIMIT_NOFILE", soft: 0, hard: 2 ** 64 })).toBe(true);
    expect(ok(RlimitSchema, { type: "RLIMIT_NOFILE", soft: -1, hard: 1 })).toBe(false);
    expect(ok(RlimitSchema, { type: "RLIMIT_NOFILE", soft: 1, hard: 2 ** 65 })).toBe(false);
  });

  test("device fileMode: permission bits, or a whole st_mode as podman sends it", () => {
    const dev = (fileMode: unknown) => ({ type: "c", path: "/dev/null", major: 1, minor: 3, fileMode });
    for (const mode of [0o666, 0o4755, 0o20666, 0o60660]) expect(ok(LinuxDeviceSchema, dev(mode))).toBe(true);
    for (const mode of [-1, 0o200000, 0.5, "0666"]) expect(ok(LinuxDeviceSchema, dev(mode))).toBe(false);
  });

  test("rlimitValue maps 2^64-1 (read as 2^64) to RLIM_INFINITY", () => {
    expect(rlimitValue(JSON.parse("18446744073709551615"))).toBe(RLIM_INFINITY);
    expect(rlimitValue(1024)).toBe(1024n);
    expect(rlimitValue(2 ** 53)).toBe(9007199254740992n);
    expect(RLIM_INFINITY).toBe(2n ** 64n - 1n);
  });
});

describe("state schema", () => {
  const state = { ociVersion: "1.2.0", id: "c1", status: "running", pid: 42, bundle: "/b", annotations: { a: "b" } };

  test("accepts every status runc reports", () => {
    for (const status of ["creating", "created", "running", "stopped", "paused"]) {
      expect(ok(StateSchema, { ...state, status })).toBe(true);
    }
    expect(ok(StateSchema, { ...state, status: "exited" })).toBe(false);
  });

  test("required fields and unknown ones", () => {
    expect(ok(StateSchema, { ...state, pid: undefined, extra: 1 })).toBe(true);
    const { bundle: _, ...noBundle } = state;
    expect(ok(StateSchema, noBundle)).toBe(false);
    expect(ok(StateSchema, { ...state, pid: -1 })).toBe(false);
  });
});

describe("features schema", () => {
  test("a runc-like document", () => {
    const doc = {
      ociVersionMin: "1.0.0",
      ociVersionMax: "1.3.0",
      hooks: ["prestart", "poststop"],
      mountOptions: ["ro", "rbind"],
      linux: {
        namespaces: ["pid", "mount"],
        capabilities: ["CAP_CHOWN"],
        cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
        seccomp: { enabled: true, actions: ["SCMP_ACT_ALLOW"], operators: [], archs: [], knownFlags: [], supportedFlags: [] },
        apparmor: { enabled: false },
        selinux: { enabled: false },
        intelRdt: { enabled: false },
        mountExtensions: { idmap: { enabled: true } },
        somethingNewer: {},
      },
      annotations: { "org.example.version": "1" },
      potentiallyUnsafeConfigAnnotations: ["org.example.unsafe."],
    };
    expect(ok(FeaturesSchema, doc)).toBe(true);
    expect(ok(FeaturesSchema, { ociVersionMin: "1.0.0" })).toBe(false);
    expect(ok(FeaturesSchema, { ...doc, linux: { cgroup: { v2: "yes" } } })).toBe(false);
  });
});
