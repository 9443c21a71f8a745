// `bunc unpack` and `bunc bundle`: an image, from a layout or the store, turned into a tree
// and into a bundle that `bunc run` runs as the image's config says. Failures (a directory
// that is not empty, a layer whose bytes do not match its digest, a hostile layer) are
// errors that name the cause and leave no tree behind.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { containerFixture, expectOk } from "./support/assertions.ts";
import { buncPath } from "./support/bunc.ts";
import { OCI_CONFIG, OCI_MANIFEST, sha256, tarBytes, tempDir, writeLayout, type Blob, type TarEntry, busyboxEntries } from "./support/images.ts";

const fx = containerFixture();
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function workDir(): string {
  const d = tempDir("bundle");
  dirs.push(d);
  return d;
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const blob = (mediaType: string, bytes: Uint8Array): Blob => ({ bytes, descriptor: { mediaType, digest: sha256(bytes), size: bytes.length } });

const APPLETS = ["sh", "id", "pwd", "echo", "cat", "ls", "test", "grep"];

/** A busybox image in two gzip layers: the second removes a file of the first and adds one. */
async function busyboxImage(execConfig: Record<string, unknown>, extraLayers: TarEntry[][] = []) {
  const base: TarEntry[] = [
    ...busyboxEntries(APPLETS),
    { name: "etc/", type: "directory" },
    { name: "etc/passwd", content: "root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234::/home/app:/bin/sh\n" },
    { name: "etc/group", content: "root:x:0:\napp:x:1234:\n" },
    { name: "srv/", type: "directory" },
    { name: "srv/old.txt", content: "from the first layer\n" },
  ];
  const upper: TarEntry[] = [
    { name: "srv/.wh.old.txt", content: "" },
    { name: "srv/new.txt", content: "from the second layer\n" },
  ];
  const tars = await Promise.all([base, upper, ...extraLayers].map((entries) => tarBytes(entries)));
  const layers = tars.map((t) => blob("application/vnd.oci.image.layer.v1.tar+gzip", gzipSync(t)));
  const config = blob(
    OCI_CONFIG,
    json({ architecture: "amd64", os: "linux", config: execConfig, rootfs: { type: "layers", diff_ids: tars.map((t) => sha256(t)) } }),
  );
  const manifest = blob(OCI_MANIFEST, json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers: layers.map((l) => l.descriptor) }));
  return { manifest, config, layers };
}

async function layoutWith(execConfig: Record<string, unknown>, extraLayers: TarEntry[][] = []) {
  const dir = workDir();
  const img = await busyboxImage(execConfig, extraLayers);
  const layout = join(dir, "layout");
  writeLayout(layout, [{ descriptor: img.manifest.descriptor, name: "v1" }], [img.manifest, img.config, ...img.layers]);
  return { dir, layout, img, store: join(dir, "store") };
}

function bunc(store: string, ...args: string[]) {
  const r = Bun.spawnSync([buncPath(), "--store", store, ...args], { stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const SCRIPT = 'echo "$(id -u):$(id -g) $(pwd) $GREETING $*"; cat /srv/new.txt; test -e /srv/old.txt && echo old-is-there || echo old-is-gone';

describe("bundle", () => {
  test("from an OCI layout: the bundle runs with the image's user, cwd, env and args, layers applied in order", async () => {
    const { layout, store, dir } = await layoutWith({
      User: "app",
      WorkingDir: "/srv",
      Env: ["GREETING=hello", "PATH=/bin"],
      Entrypoint: ["/bin/sh", "-c", SCRIPT, "sh"],
      Cmd: ["from-cmd"],
    });
    const bundle = join(dir, "bundle");
    const r = bunc(store, "bundle", `oci:${layout}:v1`, bundle);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(readdirSync(bundle).sort()).toEqual(["config.json", "rootfs"]);
    const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    expect(config.root.path).toBe("rootfs");
    expect(config.process.user).toEqual({ uid: 1234, gid: 1234 });

    const out = expectOk(fx.rt.bunc(["run", "--bundle", bundle, fx.rt.id()])).trimEnd().split("\n");
    expect(out).toEqual(["1234:1234 /srv hello from-cmd", "from the second layer", "old-is-gone"]);
    // The image's default profile comes compiled with bunc: nothing was compiled or cached.
    expect(existsSync(join(fx.rt.root, "@cache", "seccomp"))).toBe(false);
  });

  test("from a store name, after import", async () => {
    const { layout, store, dir } = await layoutWith({ Cmd: ["/bin/sh", "-c", "echo from the store"] });
    expect(bunc(store, "import", `oci:${layout}:v1`, "app:1").exitCode).toBe(0);
    const bundle = join(dir, "bundle");
    expect(bunc(store, "bundle", "app:1", bundle).exitCode).toBe(0);
    expect(expectOk(fx.rt.bunc(["run", "--bundle", bundle, fx.rt.id()]))).toBe("from the store\n");
  });

  test("a directory that is not empty is refused and left as it was", async () => {
    const { layout, store, dir } = await layoutWith({ Cmd: ["/bin/sh"] });
    const bundle = join(dir, "bundle");
    mkdirSync(bundle);
    writeFileSync(join(bundle, "keep"), "mine");
    const r = bunc(store, "bundle", `oci:${layout}:v1`, bundle);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`bundle directory ${bundle} is not empty`);
    expect(readdirSync(bundle)).toEqual(["keep"]);
  });

  test("an image with nothing to run is an error naming it, and no bundle is left", async () => {
    const { layout, store, dir } = await layoutWith({});
    const bundle = join(dir, "bundle");
    const r = bunc(store, "bundle", `oci:${layout}:v1`, bundle);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(layout);
    expect(existsSync(bundle)).toBe(false);
  });
});

describe("unpack", () => {
  test("the layers applied into a new directory and into an existing empty one", async () => {
    const { layout, store, dir } = await layoutWith({ Cmd: ["/bin/sh"] });
    for (const dest of [join(dir, "new"), join(dir, "empty")]) {
      if (dest.endsWith("empty")) mkdirSync(dest);
      const r = bunc(store, "unpack", `oci:${layout}:v1`, dest);
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      expect(readdirSync(join(dest, "srv"))).toEqual(["new.txt"]);
      expect(readlinkSync(join(dest, "bin", "sh"))).toBe("busybox");
      expect(lstatSync(join(dest, "bin", "busybox")).mode & 0o7777).toBe(0o755);
    }
  });

  test("a layer whose bytes do not match its digest: an error naming the layer, and no tree", async () => {
    const { layout, store, dir, img } = await layoutWith({ Cmd: ["/bin/sh"] });
    const second = img.layers[1]!.descriptor.digest;
    const path = join(layout, "blobs", "sha256", second.slice(7));
    const bytes = readFileSync(path);
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(path, bytes);
    const dest = join(dir, "out");
    const r = bunc(store, "unpack", `oci:${layout}:v1`, dest);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(second);
    expect(existsSync(dest)).toBe(false);
  });

  test("a layer that writes through a symlink it planted stays inside or is refused; nothing outside changes", async () => {
    const { layout, store, dir } = await layoutWith({ Cmd: ["/bin/sh"] }, [
      [{ name: "escape", type: "symlink", linkname: "../../outside" }],
      [{ name: "escape/pwned", content: "owned\n" }],
    ]);
    const outside = join(dir, "outside");
    mkdirSync(outside);
    const dest = join(dir, "deep", "out");
    mkdirSync(join(dir, "deep"));
    const r = bunc(store, "unpack", `oci:${layout}:v1`, dest);
    expect(readdirSync(outside)).toEqual([]);
    if (r.exitCode === 0) {
      // Kept inside: the symlink resolved within the tree.
      expect(existsSync(join(dest, "outside", "pwned")) || existsSync(join(dest, "escape", "pwned"))).toBe(true);
    } else {
      expect(r.stderr).toContain("escape");
      expect(existsSync(dest)).toBe(false);
    }
  });

  test("an unknown image and a bad platform are errors that name them", async () => {
    const dir = workDir();
    const store = join(dir, "store");
    const missing = bunc(store, "unpack", "nosuch:1", join(dir, "x"));
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("nosuch");
    expect(existsSync(join(dir, "x"))).toBe(false);
    const { layout } = await layoutWith({ Cmd: ["/bin/sh"] });
    const bad = bunc(store, "unpack", "--platform", "linux", `oci:${layout}:v1`, join(dir, "y"));
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("linux");
    expect(existsSync(join(dir, "y"))).toBe(false);
  });
});
