import { describe, expect, test } from "bun:test";
import { RecordingSys } from "../../ffi/recording-sys.ts";
import { components, mkdirAllInRoot, relative } from "./safe-path.ts";

describe("in-root paths", () => {
  test("components drop empty parts and dots, keep .. for the kernel to clamp", () => {
    expect(components("//a/./b/../c/")).toEqual(["a", "b", "..", "c"]);
    expect(relative("/")).toBe(".");
  });

  test("mkdirAllInRoot opens an existing target with one lookup", () => {
    const sys = new RecordingSys();
    mkdirAllInRoot(sys, 3, "/dev/pts");
    expect(sys.names()).toEqual(["tryOpenat2"]);
    expect(sys.calls[0]!.args[1]).toBe("dev/pts");
  });

  test("mkdirAllInRoot makes only the missing tail, each reopened in-root", () => {
    const sys = new RecordingSys();
    sys.missing.add("a/b/c");
    sys.missing.add("a/b");
    mkdirAllInRoot(sys, 3, "/a/b/c");
    const made = sys.calls.filter((c) => c.call === "mkdirat").map((c) => c.args[1]);
    expect(made).toEqual(["b", "c"]);
  });
});

describe("dangling symlinks", () => {
  test("a dangling absolute symlink on the way is followed inside the root and its target made", () => {
    // "link" exists (mkdir says EEXIST) but resolves nowhere: it points at /host-side.
    class Dangling extends RecordingSys {
      override tryOpenat2(dirfd: number, path: string, flags: number, mode: number, resolve: number) {
        const fd = super.tryOpenat2(dirfd, path, flags, mode, resolve);
        return path.startsWith("link") || path === "host-side/sub" ? -2 : fd;
      }
    }
    const sys = new Dangling();
    sys.failOn("mkdirat", 17);
    sys.links.set("link", "/host-side");
    expect(() => mkdirAllInRoot(sys, 3, "/link/sub")).toThrow(); // host-side/sub never appears in this fake
    const lookups = sys.calls.filter((c) => c.call === "tryOpenat2").map((c) => c.args[1]);
    expect(lookups).toContain("host-side/sub");
    expect(sys.calls.find((c) => c.call === "readlinkat")!.args[1]).toBe("link");
  });
});
