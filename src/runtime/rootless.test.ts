import { describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultImageStore, defaultStateRoot, ensurePrivateDir, isRootless } from "./rootless.ts";

describe("isRootless", () => {
  test("auto follows the effective uid; true and false force it", () => {
    expect(isRootless("auto", 0)).toBe(false);
    expect(isRootless("auto", 1000)).toBe(true);
    expect(isRootless("true", 0)).toBe(true);
    expect(isRootless("false", 1000)).toBe(false);
  });
});

describe("default dirs", () => {
  test("root keeps /run/bunc and /var/lib/bunc whatever the environment", () => {
    expect(defaultStateRoot(0, { XDG_RUNTIME_DIR: "/run/user/0" })).toBe("/run/bunc");
    expect(defaultImageStore(0, { XDG_DATA_HOME: "/x" }, "/root")).toBe("/var/lib/bunc");
  });
  test("a user: XDG dirs, else /tmp/bunc-<uid> and ~/.local/share/bunc; relative or empty XDG values are ignored", () => {
    expect(defaultStateRoot(1000, { XDG_RUNTIME_DIR: "/run/user/1000" })).toBe("/run/user/1000/bunc");
    expect(defaultStateRoot(1000, {})).toBe("/tmp/bunc-1000");
    expect(defaultStateRoot(1000, { XDG_RUNTIME_DIR: "" })).toBe("/tmp/bunc-1000");
    expect(defaultStateRoot(1000, { XDG_RUNTIME_DIR: "run" })).toBe("/tmp/bunc-1000");
    expect(defaultImageStore(1000, { XDG_DATA_HOME: "/d" }, "/home/u")).toBe("/d/bunc");
    expect(defaultImageStore(1000, { XDG_DATA_HOME: "" }, "/home/u")).toBe("/home/u/.local/share/bunc");
  });
});

describe("ensurePrivateDir", () => {
  const euid = process.geteuid!();
  test("makes a 0700 dir, accepts it again, refuses a file, an open mode or another owner", () => {
    const base = mkdtempSync(join(tmpdir(), "bunc-unit-"));
    try {
      const dir = join(base, "state");
      ensurePrivateDir(dir, euid);
      ensurePrivateDir(dir, euid);
      expect(() => ensurePrivateDir(dir, euid + 1)).toThrow(`${dir}: belongs to uid ${euid}, not to you (uid ${euid + 1})`);
      chmodSync(dir, 0o755);
      expect(() => ensurePrivateDir(dir, euid)).toThrow(`${dir}: mode 755 lets others in`);
      const file = join(base, "file");
      writeFileSync(file, "");
      expect(() => ensurePrivateDir(file, euid)).toThrow(`${file}: is not a directory`);
    } finally {
      rmSync(base, { recursive: true });
    }
  });
});
