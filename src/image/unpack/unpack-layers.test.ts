// unpackLayers against layers built in the test: each whiteout rule of image-spec layer.md,
// every entry type, metadata, compressions, diffIDs and limits. Runs as root.
import { afterEach, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, lstatSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BuncError } from "../../errors.ts";
import { compress, layer, layerOf, Sandbox, sha256, snapshot, tarOf, type TestEntry } from "./test-layers.ts";
import { unpackLayers } from "./unpack-layers.ts";

let box: Sandbox;
const boxes: Sandbox[] = [];
afterEach(() => {
  for (const b of boxes.splice(0)) b.cleanup();
});
const fresh = () => {
  box = new Sandbox();
  boxes.push(box);
  return box;
};
const dir = (name: string, extra: Partial<TestEntry> = {}): TestEntry => ({ name, type: "directory", ...extra });
const file = (name: string, content = name, extra: Partial<TestEntry> = {}): TestEntry => ({ name, content, ...extra });
const ls = (p: string) => Object.keys(snapshot(box.path(p))).sort();

async function unpack(...layers: TestEntry[][]) {
  const warnings: string[] = [];
  const stats = await unpackLayers(box.root, await Promise.all(layers.map((l) => layer(l))), { onWarning: (m) => warnings.push(m) });
  return { stats, warnings };
}

async function refused(layers: TestEntry[][], pattern: RegExp) {
  const err = await unpack(...layers).catch((e) => e);
  expect(err).toBeInstanceOf(BuncError);
  expect((err as Error).message).toMatch(pattern);
  return err as BuncError;
}

describe("whiteouts (image-spec layer.md)", () => {
  test("a file whiteout removes the lower file and never appears itself", async () => {
    fresh();
    await unpack([dir("a/"), file("a/b"), file("a/c")], [file("a/.wh.b", "")]);
    expect(ls("a")).toEqual(["c"]);
  });

  test("a directory whiteout removes the lower directory with its content", async () => {
    fresh();
    await unpack([dir("a/"), dir("a/d/"), file("a/d/x"), dir("a/d/e/"), file("a/d/e/y")], [file("a/.wh.d", "")]);
    expect(ls("a")).toEqual([]);
  });

  test("a whiteout of a lower symlink removes the link, not its target", async () => {
    fresh();
    await unpack([dir("etc/"), file("etc/passwd", "users"), { name: "l", type: "symlink", linkname: "/etc" }], [file(".wh.l", "")]);
    expect(existsSync(box.path("l"))).toBe(false);
    expect(readFileSync(box.path("etc/passwd"), "utf8")).toBe("users");
  });

  test("re-adding after a whiteout in the same layer gives the new content only", async () => {
    fresh();
    await unpack([dir("a/"), dir("a/d/"), file("a/d/old")], [file("a/.wh.d", ""), dir("a/d/"), file("a/d/new")]);
    expect(ls("a/d")).toEqual(["new"]);
  });

  test("a whiteout after the same layer wrote the name does not remove it", async () => {
    fresh();
    await unpack([dir("a/"), file("a/f", "lower")], [file("a/f", "upper"), file("a/.wh.f", "")]);
    expect(readFileSync(box.path("a/f"), "utf8")).toBe("upper");
  });

  test("an opaque marker before its siblings hides all lower content", async () => {
    fresh();
    await unpack([dir("a/"), file("a/lower1"), dir("a/sub/"), file("a/sub/lower2")], [dir("a/"), file("a/.wh..wh..opq", ""), file("a/upper")]);
    expect(ls("a")).toEqual(["upper"]);
  });

  test("an opaque marker after its siblings keeps what the same layer wrote", async () => {
    fresh();
    await unpack(
      [dir("a/"), file("a/lower1"), dir("a/sub/"), file("a/sub/lower2"), file("a/sub/keep", "lower")],
      [dir("a/"), file("a/upper"), dir("a/sub/"), file("a/sub/keep", "upper"), file("a/.wh..wh..opq", "")],
    );
    expect(ls("a")).toEqual(["sub", "sub/keep", "upper"]);
    expect(readFileSync(box.path("a/sub/keep"), "utf8")).toBe("upper");
  });

  test("an opaque directory in the first layer is simply a directory", async () => {
    fresh();
    await unpack([dir("a/"), file("a/.wh..wh..opq", ""), file("a/x")]);
    expect(ls("a")).toEqual(["x"]);
  });

  test("a whiteout of something missing is not an error", async () => {
    fresh();
    await unpack([dir("a/")], [file("a/.wh.nothing", ""), file("nodir/.wh.x", "")]);
    expect(ls("a")).toEqual([]);
  });

  test("whiteouts of . and .. are refused", async () => {
    fresh();
    await refused([[dir("etc/"), file("etc/passwd")], [file("etc/.wh..", "")]], /entry "etc\/\.wh\.\.".*whiteout/);
    await refused([[file(".wh...", "")]], /entry "\.wh\.\.\.".*whiteout/);
    expect(readFileSync(box.path("etc/passwd"), "utf8")).toBe("etc/passwd");
  });
});

describe("entry types and metadata", () => {
  test("hardlinks share the inode; a hardlink to a missing or directory target is refused", async () => {
    fresh();
    await unpack([file("a", "data"), { name: "b", type: "link", linkname: "a" }, dir("d/"), { name: "d/c", type: "link", linkname: "/a" }]);
    expect(statSync(box.path("b")).ino).toBe(statSync(box.path("a")).ino);
    expect(statSync(box.path("d/c")).ino).toBe(statSync(box.path("a")).ino);
    fresh();
    await refused([[{ name: "b", type: "link", linkname: "missing" }]], /entry "b": hard link target "missing" does not exist/);
    fresh();
    await refused([[dir("d/"), { name: "b", type: "link", linkname: "d" }]], /entry "b": hard link target "d" is a directory/);
  });

  test("a hardlink across layers replaces the old file", async () => {
    fresh();
    await unpack([file("a", "A"), file("b", "old")], [{ name: "b", type: "link", linkname: "a" }]);
    expect(readFileSync(box.path("b"), "utf8")).toBe("A");
  });

  test("devices and fifos with their numbers, owners and modes", async () => {
    fresh();
    await unpack([
      dir("dev/"),
      { name: "dev/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 },
      { name: "dev/sda", type: "block-device", devmajor: 8, devminor: 0, mode: 0o660, gid: 6 },
      { name: "dev/fifo", type: "fifo", mode: 0o620, uid: 7 },
    ]);
    const n = lstatSync(box.path("dev/null"));
    expect(n.isCharacterDevice()).toBe(true);
    expect([n.rdev >> 8, n.rdev & 0xff, n.mode & 0o7777]).toEqual([1, 3, 0o666]);
    const b = lstatSync(box.path("dev/sda"));
    expect([b.isBlockDevice(), b.rdev >> 8, b.mode & 0o7777, b.gid]).toEqual([true, 8, 0o660, 6]);
    const f = lstatSync(box.path("dev/fifo"));
    expect([f.isFIFO(), f.mode & 0o7777, f.uid]).toEqual([true, 0o620, 7]);
  });

  test("owners, and setuid/setgid/sticky modes survive the chown", async () => {
    fresh();
    await unpack([file("suid", "x", { mode: 0o4755, uid: 1000, gid: 1000 }), file("sgid", "x", { mode: 0o2711, uid: 3, gid: 4 }), dir("tmp/", { mode: 0o1777 }), { name: "l", type: "symlink", linkname: "suid", uid: 12, gid: 13 }]);
    const m = (p: string) => lstatSync(box.path(p));
    expect([m("suid").mode & 0o7777, m("suid").uid, m("suid").gid]).toEqual([0o4755, 1000, 1000]);
    expect([m("sgid").mode & 0o7777, m("sgid").uid, m("sgid").gid]).toEqual([0o2711, 3, 4]);
    expect(m("tmp").mode & 0o7777).toBe(0o1777);
    expect([m("l").uid, m("l").gid]).toEqual([12, 13]);
  });

  test("uids above the octal field come from PAX records", async () => {
    fresh();
    await unpack([file("big", "x", { pax: { uid: "3000000", gid: "4000000" } })]);
    expect([statSync(box.path("big")).uid, statSync(box.path("big")).gid]).toEqual([3_000_000, 4_000_000]);
  });

  test("mtimes on files, symlinks and directories (set after their children)", async () => {
    fresh();
    const t = (s: number) => new Date(s * 1000);
    await unpack([dir("d/", { mtime: t(1_000_000) }), file("d/f", "x", { mtime: t(2_000_000) }), { name: "d/l", type: "symlink", linkname: "f", mtime: t(3_000_000) }, dir("d/e/", { mtime: t(4_000_000) }), file("d/e/g", "y")]);
    const mt = (p: string) => Math.round(lstatSync(box.path(p)).mtimeMs / 1000);
    expect([mt("d"), mt("d/f"), mt("d/l"), mt("d/e")]).toEqual([1_000_000, 2_000_000, 3_000_000, 4_000_000]);
  });

  test("times before 1970, after 2038 and with fractions from PAX records", async () => {
    fresh();
    await unpack([
      file("old", "x", { pax: { mtime: "-1000000" } } as never),
      file("late", "x", { pax: { mtime: "5000000000" } } as never),
      file("fine", "x", { pax: { mtime: "1700000000.25", atime: "1600000000.5" } } as never),
    ]);
    const st = (p: string) => lstatSync(box.path(p), { bigint: true });
    expect(st("old").mtimeNs).toBe(-1_000_000_000_000_000n);
    expect(st("late").mtimeNs).toBe(5_000_000_000_000_000_000n);
    expect([st("fine").mtimeNs, st("fine").atimeNs]).toEqual([1_700_000_000_250_000_000n, 1_600_000_000_500_000_000n]);
  });

  test("xattrs: user and security.capability are set, security.selinux is dropped", async () => {
    fresh();
    const src = `${box.dir}/src`;
    execFileSync("sh", ["-c", `mkdir -p ${src} && printf x > ${src}/ping && setcap cap_net_raw+ep ${src}/ping && setfattr -n user.color -v blue ${src}/ping 2>/dev/null || true`]);
    const tar = execFileSync("tar", ["--xattrs", "--xattrs-include=*", "-C", src, "-cf", "-", "ping"]);
    await unpackLayers(box.root, [layerOf(new Uint8Array(tar))]);
    const caps = execFileSync("getcap", [box.path("ping")]).toString();
    expect(caps).toContain("cap_net_raw");
    fresh();
    await unpack([file("f", "x", { pax: { "SCHILY.xattr.user.k": "v", "SCHILY.xattr.security.selinux": "system_u:object_r:etc_t:s0" } })]);
    const attrs = execFileSync("python3", ["-c", "import os,sys; print({n: os.getxattr(sys.argv[1], n).decode() for n in os.listxattr(sys.argv[1])})", box.path("f")]).toString();
    expect(attrs).toContain("'user.k': 'v'");
    expect(attrs).not.toContain("selinux");
  });

  test("a directory over a directory keeps the content and takes the new mode; a file over a directory replaces it", async () => {
    fresh();
    await unpack([dir("d/", { mode: 0o700 }), file("d/x"), dir("e/"), file("e/y")], [dir("d/", { mode: 0o750 }), file("e", "now a file")]);
    expect(lstatSync(box.path("d")).mode & 0o7777).toBe(0o750);
    expect(ls("d")).toEqual(["x"]);
    expect(readFileSync(box.path("e"), "utf8")).toBe("now a file");
  });

  test("a symlink over a directory replaces it, and later entries resolve through it inside the root", async () => {
    fresh();
    await unpack([dir("d/"), file("d/x"), dir("real/")], [{ name: "d", type: "symlink", linkname: "/real" }, file("d/y", "via")]);
    expect(readlinkSync(box.path("d"))).toBe("/real");
    expect(readFileSync(box.path("real/y"), "utf8")).toBe("via");
  });
});

describe("directory fd cache", () => {
  test("more directories than the cache holds, replaced and written again across layers", async () => {
    fresh();
    const n = 600;
    const lower: TestEntry[] = [];
    const upper: TestEntry[] = [];
    for (let i = 0; i < n; i++) {
      lower.push(dir(`d${i}/`), dir(`d${i}/sub/`), file(`d${i}/sub/f`, `lower ${i}`));
      if (i % 3 === 0) upper.push(file(`d${i}/.wh.sub`, ""), file(`d${i}/sub`, `now a file ${i}`));
      else if (i % 3 === 1) upper.push({ name: `d${i}/sub`, type: "symlink", linkname: `/d${(i + 1) % n}` }, file(`d${i}/sub/g`, `via link ${i}`));
      else upper.push(file(`d${i}/sub/f`, `upper ${i}`), { name: `d${i}/h`, type: "link", linkname: `d${(i + n - 2) % n}/sub` });
    }
    await unpack(lower, upper);
    for (let i = 0; i < n; i++) {
      if (i % 3 === 0) expect(readFileSync(box.path(`d${i}/sub`), "utf8")).toBe(`now a file ${i}`);
      else if (i % 3 === 1) expect(readFileSync(box.path(`d${(i + 1) % n}/g`), "utf8")).toBe(`via link ${i}`);
      else {
        expect(readFileSync(box.path(`d${i}/sub/f`), "utf8")).toBe(`upper ${i}`);
        expect(readFileSync(box.path(`d${i}/h`), "utf8")).toBe(`now a file ${(i + n - 2) % n}`);
      }
    }
  });
});

describe("as a non-root user", () => {
  test("device nodes are skipped with a warning, owners go to user.rootlesscontainers, files are written", async () => {
    fresh();
    const tar = await tarOf([dir("dev/"), { name: "dev/null", type: "character-device", devmajor: 1, devminor: 3 }, file("dev/f", "data", { uid: 5 }), { name: "dev/p", type: "fifo" }]);
    const blob = join(box.dir, "layer.tar");
    writeFileSync(blob, tar);
    const script = join(box.dir, "run.ts");
    writeFileSync(
      script,
      `import { unpackLayers } from ${JSON.stringify(join(import.meta.dir, "unpack-layers.ts"))};
const warnings = [];
await unpackLayers(process.argv[2], [{ digest: "sha256:test", mediaType: "application/vnd.oci.image.layer.v1.tar", open: () => Bun.file(process.argv[3]).stream() }], { onWarning: (m) => warnings.push(m) });
console.log(JSON.stringify(warnings));`,
    );
    chownSync(box.dir, 65534, 65534);
    const r = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, script, box.root, blob], { stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    const warnings = JSON.parse(r.stdout.toString()) as string[];
    expect(warnings.join("\n")).toContain(`entry "dev/null": device node skipped: not running as root`);
    expect(warnings.join("\n")).toContain("not running as root: the image's files belong to uids up to 5 and gids up to 0; 1 owner(s) kept in the user.rootlesscontainers xattr");
    expect(existsSync(box.path("dev/null"))).toBe(false);
    expect(readFileSync(box.path("dev/f"), "utf8")).toBe("data");
    expect(statSync(box.path("dev/f")).uid).toBe(65534);
    expect(lstatSync(box.path("dev/p")).isFIFO()).toBe(true);
  });
});

describe("compression, diffIDs and limits", () => {
  const entries = [dir("etc/"), file("etc/hostname", "box\n")];

  for (const how of ["gzip", "zstd", "none"] as const) {
    for (const where of ["thread", "inline"] as const) {
      test(`${how} layer, decompressed ${where}`, async () => {
        fresh();
        const tar = await tarOf(entries);
        const other = await tarOf([file("etc/hostname", "second\n"), file("etc/.wh.gone", "")]);
        const layers = [layerOf(compress(tar, how), { how, diffId: sha256(tar), chunk: 7 }), layerOf(compress(other, how), { how, diffId: sha256(other) })];
        const stats = await unpackLayers(box.root, layers, { decompressOn: where });
        expect(readFileSync(box.path("etc/hostname"), "utf8")).toBe("second\n");
        expect(stats.diffIds).toEqual([sha256(tar), sha256(other)]);
      });
    }
  }

  test("the decompression thread reads a blob file itself when given its path", async () => {
    fresh();
    const tar = await tarOf([dir("etc/"), file("etc/hostname", "from a file\n")]);
    const blob = join(box.dir, "blob");
    writeFileSync(blob, compress(tar, "zstd"));
    const l = { ...layerOf(new Uint8Array(0), { how: "zstd", diffId: sha256(tar) }), path: blob };
    const stats = await unpackLayers(box.root, [l], { decompressOn: "thread" });
    expect(readFileSync(box.path("etc/hostname"), "utf8")).toBe("from a file\n");
    expect(stats.diffIds).toEqual([sha256(tar)]);
  });

  test("a bomb and a truncated stream on the decompression thread", async () => {
    fresh();
    const bomb = compress(await tarOf([file("zeros", new Uint8Array(64 << 20) as unknown as string)]), "gzip");
    const err = await unpackLayers(box.root, [layerOf(bomb, { how: "gzip" })], { maxLayerBytes: 8 << 20, decompressOn: "thread" }).catch((e) => e);
    expect((err as Error).message).toContain("exceeds the limit");
    const gz = compress(await tarOf([file("f", "x".repeat(5000))]), "gzip");
    const cut = layerOf(gz.subarray(0, gz.length - 20), { how: "gzip" });
    const err2 = await unpackLayers(box.root, [cut], { decompressOn: "thread" }).catch((e) => e);
    expect((err2 as Error).message).toMatch(new RegExp(`layer ${cut.digest}: gzip data is corrupt or truncated`));
  });

  test("a mislabeled layer unpacks from its content, with a warning", async () => {
    fresh();
    const tar = await tarOf(entries);
    const warnings: string[] = [];
    await unpackLayers(box.root, [layerOf(compress(tar, "zstd"), { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" })], { onWarning: (m) => warnings.push(m) });
    expect(readFileSync(box.path("etc/hostname"), "utf8")).toBe("box\n");
    expect(warnings.join()).toContain("but the content is zstd");
  });

  test("a diffID mismatch names the layer", async () => {
    fresh();
    const l = layerOf(compress(await tarOf(entries), "gzip"), { how: "gzip", diffId: `sha256:${"0".repeat(64)}` });
    const err = await unpackLayers(box.root, [l]).catch((e) => e);
    expect((err as Error).message).toContain(`layer ${l.digest}: diffID mismatch`);
  });

  test("a layer past the size limit is stopped", async () => {
    fresh();
    const l = layerOf(compress(await tarOf([file("big", "x".repeat(1 << 20))]), "gzip"), { how: "gzip" });
    const err = await unpackLayers(box.root, [l], { maxLayerBytes: 64 * 1024 }).catch((e) => e);
    expect((err as Error).message).toContain("exceeds the limit of 65536 bytes");
  });

  test("a layer with too many entries is stopped", async () => {
    fresh();
    const l = layerOf(await tarOf([file("a"), file("b"), file("c")]));
    const err = await unpackLayers(box.root, [l], { maxLayerEntries: 2 }).catch((e) => e);
    expect((err as Error).message).toContain("more than 2 entries");
  });

  test("a gzip bomb is stopped by the limit", async () => {
    fresh();
    const bomb = compress(await tarOf([file("zeros", new Uint8Array(64 << 20) as unknown as string)]), "gzip");
    expect(bomb.length).toBeLessThan(1 << 20);
    const err = await unpackLayers(box.root, [layerOf(bomb, { how: "gzip" })], { maxLayerBytes: 8 << 20 }).catch((e) => e);
    expect((err as Error).message).toContain("exceeds the limit");
  });

  test("truncated gzip, truncated tar, garbage and an unsupported compression fail clearly", async () => {
    const tar = await tarOf([file("f", "x".repeat(5000))]);
    const gz = compress(tar, "gzip");
    const cases: [Uint8Array, string, RegExp, string?][] = [
      [gz.subarray(0, gz.length - 20), "application/vnd.oci.image.layer.v1.tar+gzip", /gzip data is corrupt or truncated/],
      // Bun's zstd decoder does not report a cut frame: the diffID does.
      [compress(tar, "zstd").subarray(0, 40), "application/vnd.oci.image.layer.v1.tar+zstd", /diffID mismatch/, sha256(tar)],
      [tar.subarray(0, 1024), "application/vnd.oci.image.layer.v1.tar", /not a valid tar stream: Unexpected end of data/],
      [new Uint8Array(4096).fill(0x41), "application/vnd.oci.image.layer.v1.tar", /not a valid tar stream: Invalid tar header/],
      [tar, "application/vnd.oci.image.layer.v1.tar+bzip2", /compression not supported/],
    ];
    for (const [blob, mediaType, pattern, diffId] of cases) {
      fresh();
      const l = layerOf(blob, { mediaType, diffId });
      const err = await unpackLayers(box.root, [l]).catch((e) => e);
      expect(err).toBeInstanceOf(BuncError);
      expect((err as Error).message).toMatch(pattern);
      expect((err as Error).message).toContain(l.digest);
    }
  });

  test("a last file without its padding to 512 bytes (umoci 0.4 writes these) is complete", async () => {
    fresh();
    const tar = await tarOf([file("f", "abc")]);
    const unpadded = tar.subarray(0, 512 + 3);
    await unpackLayers(box.root, [layerOf(unpadded, { diffId: sha256(unpadded) })]);
    expect(readFileSync(box.path("f"), "utf8")).toBe("abc");
  });

  test("an empty layer is fine", async () => {
    fresh();
    const stats = await unpackLayers(box.root, [layerOf(new Uint8Array(0)), layerOf(new Uint8Array(1024))]);
    expect(stats.entries).toBe(0);
  });
});
