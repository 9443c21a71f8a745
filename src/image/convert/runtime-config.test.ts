import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSpec } from "../../runtime/default-spec.ts";
import { parseConfig } from "../../spec/validate-config.ts";
import { imageAnnotations } from "./annotations.ts";
import { IMAGE_DEFAULT_CAPABILITIES, runtimeConfigFromImage, writeBundleConfig } from "./runtime-config.ts";

let dir: string;
let rootfs: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bunc-convert-"));
  rootfs = join(dir, "rootfs");
  mkdirSync(join(rootfs, "etc"), { recursive: true });
  writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
  writeFileSync(join(rootfs, "etc/group"), "root:x:0:\napp:x:1000:\naudio:x:29:app\n");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const image = (config: Record<string, unknown> = {}, top: Record<string, unknown> = {}) => ({
  architecture: "amd64",
  os: "linux",
  rootfs: { type: "layers", diff_ids: [] },
  ...top,
  config: { Cmd: ["sh"], ...config },
});

describe("runtimeConfigFromImage", () => {
  test("the image's process fields on top of bunc spec's defaults", () => {
    const spec = runtimeConfigFromImage(
      image({ User: "app", WorkingDir: "/srv", Env: ["A=1"], Entrypoint: ["/bin/entry"], Cmd: ["serve"], Volumes: { "/data": {} } }),
      rootfs,
    );
    const defaults = defaultSpec();
    expect(spec.process!.args).toEqual(["/bin/entry", "serve"]);
    expect(spec.process!.cwd).toBe("/srv");
    expect(spec.process!.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [29] });
    expect(spec.process!.env).toEqual(["A=1", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/home/app"]);
    expect(spec.process!.terminal).toBe(false);
    expect(spec.process!.rlimits).toEqual(defaults.process!.rlimits);
    expect(spec.process!.noNewPrivileges).toBe(true);
    expect(spec.process!.capabilities).toEqual({
      bounding: IMAGE_DEFAULT_CAPABILITIES,
      effective: IMAGE_DEFAULT_CAPABILITIES,
      permitted: IMAGE_DEFAULT_CAPABILITIES,
    });
    expect(spec.root).toEqual({ path: rootfs, readonly: false });
    expect(spec.hostname).toBe(defaults.hostname!);
    expect(spec.mounts).toEqual([...defaults.mounts!, { destination: "/data", type: "tmpfs", source: "tmpfs", options: ["rw", "nosuid", "nodev", "mode=755"] }]);
    expect(spec.linux!.namespaces).toEqual(defaults.linux!.namespaces!);
    expect(spec.linux!.maskedPaths).toEqual(defaults.linux!.maskedPaths!);
    expect(spec.linux!.readonlyPaths).toEqual(defaults.linux!.readonlyPaths!);
  });

  test("the seccomp profile allows what docker's capability set makes useful", () => {
    const spec = runtimeConfigFromImage(image(), rootfs);
    const allowed = spec.linux!.seccomp!.syscalls!.flatMap((s) => s.names);
    expect(allowed).toContain("chroot"); // CAP_SYS_CHROOT
    expect(allowed).not.toContain("mount"); // CAP_SYS_ADMIN stays out
    expect(spec.linux!.seccomp!.defaultAction).toBe("SCMP_ACT_ERRNO");
  });

  test("the result passes bunc's own config.json checks", () => {
    const spec = runtimeConfigFromImage(image({ User: "app", Volumes: { "/v": {} } }), rootfs, { terminal: true });
    expect(() => parseConfig(JSON.stringify(spec), "config.json")).not.toThrow();
  });

  test("the caller's overrides: args, env, cwd, user, terminal, hostname, read-only rootfs", () => {
    const spec = runtimeConfigFromImage(image({ Entrypoint: ["/e"], Cmd: ["x"], Env: ["A=1", "TERM=vt100"], User: "app" }), rootfs, {
      args: ["y", "z"],
      env: ["A=2", "B=3"],
      cwd: "/tmp",
      user: "0:0",
      terminal: true,
      hostname: "box",
      readonlyRootfs: true,
    });
    expect(spec.process!.args).toEqual(["/e", "y", "z"]);
    expect(spec.process!.env).toEqual(["A=2", "TERM=vt100", "B=3", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/"]);
    expect(spec.process!.cwd).toBe("/tmp");
    expect(spec.process!.user).toEqual({ uid: 0, gid: 0 });
    expect(spec.process!.terminal).toBe(true);
    expect(spec.hostname).toBe("box");
    expect(spec.root!.readonly).toBe(true);
  });

  test("a terminal adds TERM=xterm when nobody set TERM", () => {
    const spec = runtimeConfigFromImage(image(), rootfs, { terminal: true });
    expect(spec.process!.env).toContain("TERM=xterm");
    expect(runtimeConfigFromImage(image(), rootfs).process!.env!.some((e) => e.startsWith("TERM="))).toBe(false);
  });

  test("no User means root with HOME=/", () => {
    const spec = runtimeConfigFromImage(image(), rootfs);
    expect(spec.process!.user).toEqual({ uid: 0, gid: 0 });
    expect(spec.process!.env).toContain("HOME=/");
  });

  test("errors: not linux, missing os, not an object, wrong field types, bad hostname, nothing to run", () => {
    expect(() => runtimeConfigFromImage(image({}, { os: "windows" }), rootfs)).toThrow('image config: os: "windows" images cannot run here (only linux)');
    expect(() => runtimeConfigFromImage({ architecture: "amd64" }, rootfs)).toThrow("image config: os: required but missing");
    expect(() => runtimeConfigFromImage([], rootfs)).toThrow("image config: top level: expected a JSON object");
    expect(() => runtimeConfigFromImage(image({ Cmd: "sh" }), rootfs)).toThrow(/image config: config\["Cmd"\]: expected Array/);
    expect(() => runtimeConfigFromImage(image({ Env: ["A=1", 2] }), rootfs)).toThrow(/config\["Env"\]\[1\]/);
    expect(() => runtimeConfigFromImage(image({ Cmd: null }), rootfs, { imageName: "busybox:latest" })).toThrow(/image busybox:latest has neither/);
    expect(() => runtimeConfigFromImage(image({ User: "nobody" }), rootfs)).toThrow(/Config\.User: no user "nobody"/);
    expect(() => runtimeConfigFromImage(image(), rootfs, { user: "ghost" })).toThrow(/user override: no user "ghost"/);
    expect(() => runtimeConfigFromImage(image({ Volumes: { "../x": {} } }), rootfs)).toThrow(/Config\.Volumes\["\.\.\/x"\]/);
    expect(() => runtimeConfigFromImage(image(), rootfs, { hostname: "h".repeat(65) })).toThrow(/hostname override: "h+" is longer than 64/);
    expect(() => runtimeConfigFromImage(image(), rootfs, { hostname: "x\0" })).toThrow('converted runtime config: hostname: "x\\u0000" contains a NUL byte');
    expect(() => runtimeConfigFromImage(image(), rootfs, { args: ["a\0"] })).toThrow("converted runtime config: process.args[0]");
  });

  test("docker's nulls for empty fields are accepted", () => {
    const spec = runtimeConfigFromImage(
      image({ Entrypoint: null, Env: null, Volumes: null, Labels: null, ExposedPorts: null, WorkingDir: "", User: "" }),
      rootfs,
    );
    expect(spec.process!.args).toEqual(["sh"]);
  });

  test("unknown fields are ignored", () => {
    expect(() => runtimeConfigFromImage(image({ Healthcheck: { Test: ["x"] }, ArgsEscaped: true }, { history: [{}], "x.vendor": 1 }), rootfs)).not.toThrow();
  });
});

describe("annotations (conversion.md)", () => {
  const full = {
    architecture: "arm64",
    os: "linux",
    variant: "v8",
    "os.version": "6.1",
    "os.features": ["a", "b"],
    author: "someone",
    created: "2024-01-02T03:04:05Z",
    config: { StopSignal: "SIGQUIT", ExposedPorts: { "80/tcp": {}, "53/udp": {} }, Labels: { "com.example.x": "y" } },
  };

  test("implicit annotations from the image fields, ports comma-separated", () => {
    expect(imageAnnotations(full)).toEqual({
      "org.opencontainers.image.os": "linux",
      "org.opencontainers.image.architecture": "arm64",
      "org.opencontainers.image.variant": "v8",
      "org.opencontainers.image.os.version": "6.1",
      "org.opencontainers.image.os.features": "a,b",
      "org.opencontainers.image.author": "someone",
      "org.opencontainers.image.created": "2024-01-02T03:04:05Z",
      "org.opencontainers.image.stopSignal": "SIGQUIT",
      "org.opencontainers.image.exposedPorts": "80/tcp,53/udp",
      "com.example.x": "y",
    });
  });

  test("Labels win over implicit annotations of the same key", () => {
    const a = imageAnnotations({ ...full, config: { StopSignal: "SIGQUIT", Labels: { "org.opencontainers.image.stopSignal": "SIGINT", "org.opencontainers.image.os": "mine" } } });
    expect(a["org.opencontainers.image.stopSignal"]).toBe("SIGINT");
    expect(a["org.opencontainers.image.os"]).toBe("mine");
  });

  test("absent fields add no annotation", () => {
    expect(imageAnnotations({ architecture: "amd64", os: "linux" })).toEqual({
      "org.opencontainers.image.os": "linux",
      "org.opencontainers.image.architecture": "amd64",
    });
  });

  test("they land in the runtime config", () => {
    const spec = runtimeConfigFromImage({ ...full, architecture: "amd64", config: { ...full.config, Cmd: ["sh"] } }, rootfs);
    expect(spec.annotations).toMatchObject({ "org.opencontainers.image.stopSignal": "SIGQUIT", "com.example.x": "y" });
  });
});

describe("writeBundleConfig", () => {
  test("writes <dir>/config.json that parses back to the same config", () => {
    const spec = runtimeConfigFromImage(image(), rootfs);
    const file = writeBundleConfig(join(dir, "bundle"), spec);
    expect(file).toBe(join(dir, "bundle", "config.json"));
    expect(parseConfig(readFileSync(file, "utf8"), file)).toEqual(spec);
  });
});
