import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { endpointsFor, isLoopbackHost, loadRegistriesConfig, parseRegistriesConfig } from "./mirrors.ts";
import { parseRegistryReference } from "./reference.ts";

const D = `sha256:${"b".repeat(64)}`;
const config = parseRegistriesConfig(
  JSON.stringify({
    registries: {
      "docker.io": { mirrors: [{ location: "127.0.0.1:5000/hub" }, { location: "mirror.example", pullFromMirror: "digest-only" }] },
      "reg.lan:5000": { insecure: true },
      "old.example/team": { location: "new.example/moved", mirrors: [{ location: "m.example:8443", insecure: true, pullFromMirror: "tag-only" }] },
      "quay.io/bad": { blocked: true },
    },
  }),
  "test config",
);

describe("endpointsFor", () => {
  test("mirrors before the registry, with their path prefix; digest-only mirrors for digests", () => {
    expect(endpointsFor(parseRegistryReference("alpine"), config)).toEqual([
      { apiHost: "127.0.0.1:5000", authRegistry: "127.0.0.1:5000", repository: "hub/library/alpine", insecure: true, mirror: true },
      { apiHost: "registry-1.docker.io", authRegistry: "docker.io", repository: "library/alpine", insecure: false, mirror: false },
    ]);
    expect(endpointsFor(parseRegistryReference(`alpine@${D}`), config).map((e) => e.apiHost)).toEqual(["127.0.0.1:5000", "mirror.example", "registry-1.docker.io"]);
  });
  test("a location replaces the prefix; tag-only mirrors; insecure flags", () => {
    expect(endpointsFor(parseRegistryReference("old.example/team/app:1"), config)).toEqual([
      { apiHost: "m.example:8443", authRegistry: "m.example:8443", repository: "app", insecure: true, mirror: true },
      { apiHost: "new.example", authRegistry: "new.example", repository: "moved/app", insecure: false, mirror: false },
    ]);
    expect(endpointsFor(parseRegistryReference(`old.example/team/app@${D}`), config).map((e) => e.apiHost)).toEqual(["new.example"]);
    expect(endpointsFor(parseRegistryReference("old.example/teamx/app"), config)[0]!.repository).toBe("teamx/app");
    expect(endpointsFor(parseRegistryReference("reg.lan:5000/a"), config)[0]!.insecure).toBe(true);
    expect(endpointsFor(parseRegistryReference("other.lan/a"), config, ["other.lan"])[0]!.insecure).toBe(true);
    expect(endpointsFor(parseRegistryReference("other.lan/a"), config)[0]!.insecure).toBe(false);
  });
  test("a blocked prefix is refused", () => {
    expect(() => endpointsFor(parseRegistryReference("quay.io/bad/x"), config)).toThrow('registry "quay.io/bad" is blocked');
    expect(endpointsFor(parseRegistryReference("quay.io/good/x"), config)[0]!.apiHost).toBe("quay.io");
  });
  test("loopback hosts", () => {
    for (const h of ["localhost", "localhost:5000", "127.0.0.1", "127.9.8.7:80", "[::1]:5000", "[::1]"]) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ["128.0.0.1", "localhost.example", "[::2]:5000", "10.0.0.1:5000"]) expect(isLoopbackHost(h)).toBe(false);
  });
});

describe("parseRegistriesConfig refusals name the field", () => {
  test.each([
    ["{", "not valid JSON"],
    ["{}", 'registries'],
    ['{"registries": {"a.example": {"insecur": true}}}', 'registries["a.example"].insecur: unknown field'],
    ['{"registries": {"a.example": {"insecure": "yes"}}}', 'registries["a.example"].insecure: expected boolean'],
    ['{"registries": {"a.example": {"mirrors": [{"location": "m", "pullFromMirror": "some"}]}}}', 'registries["a.example"].mirrors[0].pullFromMirror'],
    ['{"registries": {"bad host!": {}}}', 'registries["bad host!"]'],
    ['{"registries": {"a.example": {"location": "x/UPPER"}}}', 'registries["a.example"].location'],
    ['{"registries": {"a.example": {"mirrors": [{"location": "h:0"}]}}}', 'registries["a.example"].mirrors[0].location'],
  ])("%s", (text, field) => {
    expect(() => parseRegistriesConfig(text, "test config")).toThrow(field);
    expect(() => parseRegistriesConfig(text, "test config")).toThrow("test config");
  });

  test("files: the default may be absent, a named one may not", () => {
    const dir = mkdtempSync(join(tmpdir(), "bunc-mirrors-"));
    try {
      expect(() => loadRegistriesConfig(join(dir, "missing.json"))).toThrow(join(dir, "missing.json"));
      writeFileSync(join(dir, "r.json"), '{"registries": {"x.example": {"insecure": true}}}');
      expect(loadRegistriesConfig(join(dir, "r.json")).registries["x.example"]).toEqual({ insecure: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
