// Malicious layers: each case tries to make the unpacker act outside the rootfs. A sentinel
// directory beside the rootfs ("outside/", with a file "secret" and "etc/passwd") must be
// exactly as it was, and each case asserts its own outcome: refused with an error naming
// the entry, or kept inside the root. The classic cases follow containerd's TestBreakouts;
// the two-layer ones are the OCI form of GNU tar's CVE-2025-45582.
import { afterEach, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BuncError } from "../../errors.ts";
import { layer, Sandbox, type TestEntry } from "./test-layers.ts";
import { unpackLayers } from "./unpack-layers.ts";

interface Case {
  name: string;
  layers: (box: Sandbox) => TestEntry[][];
  /** Refused: the error must match (and name the entry). */
  refused?: RegExp;
  /** Kept inside: what the rootfs must look like. */
  check?: (box: Sandbox) => void;
}

const dir = (name: string, mode = 0o755): TestEntry => ({ name, type: "directory", mode });
const file = (name: string, content = "inside"): TestEntry => ({ name, content });
const sym = (name: string, linkname: string): TestEntry => ({ name, type: "symlink", linkname });
const hard = (name: string, linkname: string): TestEntry => ({ name, type: "link", linkname });

const read = (b: Sandbox, p: string) => readFileSync(b.path(p), "utf8");
const sameFile = (b: Sandbox, p1: string, p2: string) => expect(lstatSync(b.path(p1)).ino).toBe(lstatSync(b.path(p2)).ino);
const symlinkTo = (b: Sandbox, p: string, target: string) => expect(readlinkSync(b.path(p))).toBe(target);
const gone = (b: Sandbox, p: string) => expect(existsSync(b.path(p))).toBe(false);
const etcPasswd = [dir("etc", 0o770), file("/etc/passwd")];

const cases: Case[] = [
  // Symlinks planted by an entry, then written through.
  { name: "SymlinkAbsolute", layers: () => [[dir("etc"), sym("localetc", "/etc"), file("/localetc/unbroken", "unbroken")]], check: (b) => expect(read(b, "etc/unbroken")).toBe("unbroken") },
  { name: "SymlinkUpAndOut", layers: () => [[dir("etc"), dir("dummy"), sym("localetc", "/dummy/../etc"), file("/localetc/unbroken", "unbroken")]], check: (b) => expect(read(b, "etc/unbroken")).toBe("unbroken") },
  { name: "SymlinkMultipleAbsolute", layers: () => [[dir("etc"), dir("dummy"), sym("/dummy/etc", "/etc"), sym("localetc", "/dummy/etc"), file("/dummy/etc/unbroken", "unbroken")]], check: (b) => expect(read(b, "etc/unbroken")).toBe("unbroken") },
  { name: "SymlinkMultipleRelative", layers: () => [[dir("etc"), dir("dummy"), sym("/dummy/etc", "/etc"), sym("localetc", "./dummy/etc"), file("/dummy/etc/unbroken", "unbroken")]], check: (b) => expect(read(b, "etc/unbroken")).toBe("unbroken") },
  { name: "SymlinkEmptyFile", layers: () => [[dir("etc"), file("etc/emptied", "notempty"), sym("localetc", "/etc"), file("/localetc/emptied", "")]], check: (b) => expect(read(b, "etc/emptied")).toBe("") },
  { name: "SymlinkToHostPath", layers: (b) => [[sym("x", b.outside), file("x/secret", "pwned")]], check: (b) => expect(read(b, join(b.outside, "secret"))).toBe("pwned") },
  { name: "SymlinkRelativeOutOfRoot", layers: () => [[sym("x", "../outside"), file("x/secret", "pwned")]], check: (b) => expect(read(b, "outside/secret")).toBe("pwned") },
  { name: "SymlinkToRootThenWrite", layers: () => [[sym("r", "/"), file("r/etc/passwd", "root")]], check: (b) => expect(read(b, "etc/passwd")).toBe("root") },
  { name: "SymlinkToDotDot", layers: () => [[dir("a"), sym("a/up", ".."), sym("a/upup", "../../../.."), file("a/upup/a/up/f", "f")]], check: (b) => expect(read(b, "f")).toBe("f") },
  { name: "SymlinkChain", layers: () => [[sym("a", "b"), sym("b", "c"), sym("c", "/../../.."), file("a/etc/pwn", "x")]], check: (b) => expect(read(b, "etc/pwn")).toBe("x") },
  { name: "SymlinkLoop", layers: () => [[sym("a", "b"), sym("b", "a"), file("a/x")]], refused: /entry "a\/x"/ },
  { name: "SymlinkDriveRelative", layers: () => [[sym("l", "C:../../outside"), file("l/secret", "x")]], check: (b) => expect(read(b, "outside/secret")).toBe("x") },
  // The root itself.
  { name: "SymlinkReplacesDot", layers: (b) => [[sym(".", b.outside)]], refused: /entry "\.": a symlink cannot replace the root/ },
  { name: "SymlinkReplacesDotSlash", layers: () => [[sym("./", "/")], [file("etc/x")]], refused: /entry "\.\/": a symlink cannot replace the root/ },
  { name: "SymlinkParentDirectory", layers: () => [[...etcPasswd, sym("..", "/etc/")]], refused: /entry "\.\.": a symlink cannot replace the root/ },
  { name: "FileReplacesRoot", layers: () => [[file("a/../", "x")]], refused: /cannot replace the root/ },
  { name: "SymlinkParentRelative", layers: () => [[...etcPasswd, sym("localetc/sub/..", "/etc/"), hard("/localetc/localpasswd", "/etc/passwd")]], check: (b) => { symlinkTo(b, "localetc", "/etc/"); sameFile(b, "etc/localpasswd", "etc/passwd"); } },
  { name: "SymlinkSlashEnded", layers: () => [[...etcPasswd, dir("localetc/"), hard("/localetc/localpasswd", "/etc/passwd")]], check: (b) => sameFile(b, "localetc/localpasswd", "etc/passwd") },
  // Paths.
  { name: "AbsolutePath", layers: (b) => [[file(join(b.outside, "secret"), "pwned")]], check: (b) => expect(read(b, join(b.outside, "secret"))).toBe("pwned") },
  { name: "DotDotPath", layers: () => [[file("../outside/secret", "pwned")]], check: (b) => expect(read(b, "outside/secret")).toBe("pwned") },
  { name: "DeepDotDotPath", layers: () => [[file("a/b/../../../../../../outside/etc/passwd", "pwned")]], check: (b) => expect(read(b, "outside/etc/passwd")).toBe("pwned") },
  // Hard links.
  { name: "HardlinkRelative", layers: () => [[...etcPasswd, dir("breakouts"), sym("breakouts/d1", "../../etc"), hard("breakouts/mypasswd", "/breakouts/d1/passwd")]], check: (b) => sameFile(b, "breakouts/mypasswd", "etc/passwd") },
  { name: "HardlinkDownAndOut", layers: () => [[...etcPasswd, dir("breakouts"), dir("downandout"), sym("breakouts/d1", "../downandout/../../etc"), hard("breakouts/mypasswd", "/breakouts/d1/passwd")]], check: (b) => sameFile(b, "breakouts/mypasswd", "etc/passwd") },
  { name: "HardlinkAbsolute", layers: () => [[...etcPasswd, sym("localetc", "/etc"), hard("localpasswd", "/localetc/passwd")]], check: (b) => sameFile(b, "localpasswd", "etc/passwd") },
  { name: "HardlinkRelativeLong", layers: () => [[...etcPasswd, sym("localetc", "../../../../../../../etc"), hard("localpasswd", "/localetc/passwd")]], check: (b) => sameFile(b, "localpasswd", "etc/passwd") },
  // The kernel resolves "upandout/.." only if upandout exists (unlike a lexical clean).
  { name: "HardlinkRelativeUpAndOut", layers: () => [[...etcPasswd, sym("localetc", "upandout/../../../etc"), hard("localpasswd", "/localetc/passwd")]], refused: /entry "localpasswd": hard link target "\/localetc\/passwd" does not exist/ },
  { name: "HardlinkDirectRelative", layers: () => [[...etcPasswd, hard("localpasswd", "../../../../../etc/passwd")]], check: (b) => sameFile(b, "localpasswd", "etc/passwd") },
  { name: "HardlinkDirectAbsolute", layers: () => [[...etcPasswd, hard("localpasswd", "/etc/passwd")]], check: (b) => sameFile(b, "localpasswd", "etc/passwd") },
  { name: "HardlinkToHostFile", layers: (b) => [[hard("stolen", join(b.outside, "secret"))]], refused: /entry "stolen": hard link target ".*secret" does not exist/ },
  { name: "HardlinkThroughSymlinkToHost", layers: (b) => [[sym("l", b.outside), hard("stolen", "l/secret")]], refused: /entry "stolen": hard link target "l\/secret" does not exist/ },
  { name: "HardlinkToRoot", layers: () => [[hard("h", "../..")]], refused: /entry "h": hard link target "\.\.\/\.\." is the root/ },
  { name: "HardlinkSymlinkBeforeCreateTarget", layers: () => [[dir("etc", 0o770), sym("localpasswd", "/etc/passwd"), hard("localpasswd-dup", "localpasswd"), file("/etc/passwd", "after")]], check: (b) => { symlinkTo(b, "localpasswd-dup", "/etc/passwd"); sameFile(b, "localpasswd-dup", "localpasswd"); } },
  { name: "HardlinkSymlinkRelative", layers: () => [[...etcPasswd, sym("passwdlink", "../../../../../etc/passwd"), hard("localpasswd", "/passwdlink")]], check: (b) => { symlinkTo(b, "localpasswd", "../../../../../etc/passwd"); sameFile(b, "localpasswd", "passwdlink"); } },
  { name: "HardlinkSymlinkAbsolute", layers: () => [[...etcPasswd, sym("passwdlink", "/etc/passwd"), hard("localpasswd", "/passwdlink")]], check: (b) => { symlinkTo(b, "localpasswd", "/etc/passwd"); sameFile(b, "localpasswd", "passwdlink"); } },
  { name: "HardlinkSymlinkChmod", layers: (b) => [[sym(join(b.outside, "alias"), join(b.outside, "secret")), hard("sketchylink", join(b.outside, "alias"))]], check: (b) => { expect(statSync(join(b.outside, "secret")).mode & 0o777).toBe(0o400); sameFile(b, "sketchylink", join(b.outside, "alias")); } },
  // Metadata through a symlink (CVE-2021-32760).
  { name: "ChmodThroughSymlink", layers: (b) => [[sym("a", join(b.outside, "secret"))], [dir("a", 0o777)]], check: (b) => { expect(lstatSync(b.path("a")).isDirectory()).toBe(true); expect(statSync(join(b.outside, "secret")).mode & 0o777).toBe(0o400); } },
  { name: "FileOverSymlinkToHost", layers: (b) => [[sym("a", join(b.outside, "secret"))], [file("a", "replaced")]], check: (b) => expect(read(b, "a")).toBe("replaced") },
  { name: "DeviceThroughSymlink", layers: (b) => [[sym("d", b.outside), { name: "d/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 }]], check: (b) => expect(lstatSync(b.path(join(b.outside, "null"))).isCharacterDevice()).toBe(true) },
  // Across layers: the symlink comes from a lower layer (GNU tar CVE-2025-45582, OCI form).
  { name: "TwoLayerSymlinkToHostDir", layers: (b) => [[sym("x", join(b.outside, "etc"))], [file("x/passwd", "pwned")]], check: (b) => expect(read(b, join(b.outside, "etc/passwd"))).toBe("pwned") },
  { name: "TwoLayerRelativeSymlink", layers: () => [[dir("a"), sym("a/x", "../../../outside")], [file("a/x/secret", "pwned")]], check: (b) => expect(read(b, "outside/secret")).toBe("pwned") },
  { name: "SymlinkOverrideDirectory", layers: () => [[...etcPasswd, dir("localetc")], [sym("localetc", "/etc"), hard("/localetc/localpasswd", "/etc/passwd")]], check: (b) => sameFile(b, "etc/localpasswd", "etc/passwd") },
  { name: "SymlinkOverrideDirectoryRelative", layers: () => [[...etcPasswd, dir("localetc")], [sym("localetc", "../../etc"), hard("/localetc/localpasswd", "/etc/passwd")]], check: (b) => sameFile(b, "etc/localpasswd", "etc/passwd") },
  { name: "DirectoryOverrideSymlink", layers: () => [[...etcPasswd, sym("localetc", "/etc")], [dir("/localetc/"), hard("/localetc/localpasswd", "/etc/passwd")]], check: (b) => { expect(lstatSync(b.path("localetc")).isDirectory()).toBe(true); sameFile(b, "localetc/localpasswd", "etc/passwd"); } },
  { name: "DirectoryOverrideSymlinkAndHardlink", layers: () => [[...etcPasswd, sym("localetc", "etc"), hard("/localetc/localpasswd", "/etc/passwd")], [dir("/localetc/"), file("/localetc/localpasswd", "different")]], check: (b) => { expect(read(b, "etc/passwd")).toBe("inside"); expect(read(b, "localetc/localpasswd")).toBe("different"); } },
  // Whiteouts.
  { name: "WhiteoutRootParent", layers: () => [etcPasswd, [file(".wh...", "")]], refused: /entry "\.wh\.\.\.": whiteout/ },
  { name: "WhiteoutParent", layers: () => [etcPasswd, [file("etc/.wh...", "")]], refused: /entry "etc\/\.wh\.\.\.": whiteout/ },
  { name: "WhiteoutRoot", layers: () => [etcPasswd, [file(".wh..", "")]], refused: /entry "\.wh\.\.": whiteout/ },
  { name: "WhiteoutCurrentDirectory", layers: () => [etcPasswd, [file("etc/.wh..", "")]], refused: /entry "etc\/\.wh\.\.": whiteout/ },
  { name: "WhiteoutSymlink", layers: () => [[...etcPasswd, sym("localetc", "/etc")], [file(".wh.localetc", "")]], check: (b) => { expect(read(b, "etc/passwd")).toBe("inside"); gone(b, "localetc"); } },
  { name: "WhiteoutSymlinkPath", layers: () => [[...etcPasswd, file("etc/whitedout"), sym("localetc", "/etc")], [file("localetc/.wh.whitedout", "")]], check: (b) => { expect(read(b, "etc/passwd")).toBe("inside"); gone(b, "etc/whitedout"); } },
  { name: "WhiteoutDirectoryName", layers: () => [[...etcPasswd, sym("localetc", "/etc")], [file(".wh.etc/somefile", "non-empty")]], check: (b) => { expect(read(b, "etc/passwd")).toBe("inside"); expect(read(b, ".wh.etc/somefile")).toBe("non-empty"); } },
  { name: "WhiteoutDeadSymlinkParent", layers: () => [[...etcPasswd, sym("localetc", "/dne")], [file("localetc/.wh.etc", "")]], check: (b) => expect(read(b, "etc/passwd")).toBe("inside") },
  { name: "WhiteoutRelativePath", layers: () => [[...etcPasswd, sym("localetc", "/dne")], [file("dne/../.wh.etc", "")]], check: (b) => gone(b, "etc/passwd") },
  { name: "WhiteoutThroughSymlinkToHost", layers: (b) => [[sym("o", b.outside)], [file("o/.wh.secret", "")]], check: (b) => symlinkTo(b, "o", b.outside) },
  { name: "WhiteoutDotDotPath", layers: () => [[dir("a")], [file("a/../../outside/.wh.secret", "")]], check: (b) => expect(existsSync(b.path("a"))).toBe(true) },
  { name: "OpaqueThroughSymlinkToHost", layers: (b) => [[sym("o", b.outside)], [file("o/.wh..wh..opq", "")]], check: (b) => symlinkTo(b, "o", b.outside) },
  { name: "OpaqueThroughRelativeSymlink", layers: () => [[dir("keep"), file("keep/f"), sym("up", "../..")], [file("up/.wh..wh..opq", ""), file("up/new")]], check: (b) => { expect(read(b, "new")).toBe("inside"); gone(b, "keep"); } },
];

let box: Sandbox;
afterEach(() => box?.cleanup());

test("the corpus has at least 30 cases", () => {
  expect(cases.length).toBeGreaterThanOrEqual(30);
});

for (const c of cases) {
  test(c.name, async () => {
    box = new Sandbox();
    chmodSync(join(box.outside, "secret"), 0o400);
    writeFileSync(join(box.outside, "alias-target"), "x");
    const before = box.outsideState();
    const layers = await Promise.all(c.layers(box).map((entries) => layer(entries, "gzip")));
    const result = await unpackLayers(box.root, layers).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(box.outsideState()).toBe(before);
    if (c.refused) {
      expect(result).toBeInstanceOf(BuncError);
      expect((result as Error).message).toMatch(c.refused);
    } else {
      if (result) throw result;
      c.check?.(box);
    }
  });
}
