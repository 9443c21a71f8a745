// `bunc run --image` of an image it has to pull unpacks the layers as they download: the
// first layer streams into the unpacker while its bytes arrive (seen as its files in the
// cache's temp dir while the rest of its blob is held back by the registry), the others
// follow in order, and the blobs land in the store verified. A blob with the wrong digest
// fails the run with both digests and leaves no tree, temp dir, container or mount.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { buncPath } from "./support/bunc.ts";
import { mountsUnder } from "./support/bundle.ts";
import { FaultRegistry } from "./support/fault-registry.ts";
import { busyboxEntries, tarBytes, tempDir, type TarEntry } from "./support/images.ts";
import { type TestImage, blob, descriptor, noise, sha256, writeLayout } from "./support/registry-images.ts";
import { type TestRegistry, pushLayout, startRegistry } from "./support/registry.ts";

const APPLETS = ["sh", "cat", "ls", "test", "echo"];
const json = (v: unknown) => new Uint8Array(Buffer.from(JSON.stringify(v)));
const CMD = "cat /first/marker /data/kept; test -e /data/gone && echo gone-still-there; ls /data";

/**
 * Four gzip layers, one more than downloads at once: (1) a marker file first, then busybox
 * and 1 MB of noise; (2) two files under /data and another 1 MB; (3) a whiteout of one of
 * them and a file of its own; (4) one more file.
 */
async function streamedImage(): Promise<{ image: TestImage; chainHex: string }> {
  const layers: TarEntry[][] = [
    [{ name: "first/", type: "directory" }, { name: "first/marker", content: "layer one\n" }, ...busyboxEntries(APPLETS), { name: "first/noise", content: noise(1_000_000) }],
    [{ name: "data/", type: "directory" }, { name: "data/kept", content: "layer two\n" }, { name: "data/gone", content: "x" }, { name: "data/noise", content: noise(1_000_000) }],
    [{ name: "data/", type: "directory" }, { name: "data/.wh.gone", content: "" }, { name: "data/three", content: "3\n" }],
    [{ name: "data/four", content: "4\n" }],
  ];
  const tars = await Promise.all(layers.map((entries) => tarBytes(entries)));
  const blobs = tars.map((t) => blob("application/vnd.oci.image.layer.v1.tar+gzip", new Uint8Array(gzipSync(t))));
  const diffIds = tars.map((t) => sha256(t));
  const config = blob(
    "application/vnd.oci.image.config.v1+json",
    json({ architecture: "amd64", os: "linux", config: { Env: ["PATH=/bin"], Cmd: ["/bin/sh", "-c", CMD] }, rootfs: { type: "layers", diff_ids: diffIds } }),
  );
  const manifest = blob(
    "application/vnd.oci.image.manifest.v1+json",
    json({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: descriptor(config), layers: blobs.map((l) => descriptor(l)) }),
  );
  let chain = diffIds[0]!;
  for (const d of diffIds.slice(1)) chain = sha256(new TextEncoder().encode(`${chain} ${d}`));
  return { image: { config, layers: blobs, manifest }, chainHex: chain.slice(7) };
}

const EXPECTED_OUT = "layer one\nlayer two\nfour\nkept\nnoise\nthree\n";

let work: string;
let img: TestImage;
let chainHex: string;
const caseDirs: string[] = [];
const faults: FaultRegistry[] = [];

beforeAll(async () => {
  work = tempDir("run-stream");
  ({ image: img, chainHex } = await streamedImage());
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every container under each case's state root deleted, mounts gone, its dir removed; fault registries stopped. */
afterEach(() => {
  for (const dir of caseDirs.splice(0)) {
    const root = join(dir, "root");
    for (const id of listed(root)) {
      if (!id.startsWith("@")) Bun.spawnSync([buncPath(), "--root", root, "delete", "-f", id]);
    }
    for (const m of mountsUnder(dir).reverse()) Bun.spawnSync(["umount", "-l", m]);
    rmSync(dir, { recursive: true, force: true });
  }
  for (const f of faults.splice(0)) f.stop();
});

let cases = 0;
/** A fresh state root and an empty store, both removed after the test. */
function fresh(): { root: string; store: string } {
  const dir = join(work, `case-${++cases}`);
  caseDirs.push(dir);
  return { root: join(dir, "root"), store: join(dir, "store") };
}

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** bunc as a child, awaited: a fault registry in this process keeps answering meanwhile. */
async function bunc(store: string, ...args: string[]): Promise<Run> {
  const child = Bun.spawn([buncPath(), "--store", store, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { exitCode, stdout, stderr };
}

const cacheOf = (store: string) => join(store, ".bunc-rootfs");
const listed = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

function serveFaulty(): FaultRegistry {
  const reg = new FaultRegistry();
  faults.push(reg);
  reg.addManifest("app", img.manifest, ["v1"]);
  for (const b of [img.config, ...img.layers]) reg.addBlob(b);
  return reg;
}

/** Nothing of a failed run is left: no tree or temp dir in the cache, no container, mount or image. */
function expectNothingLeft(root: string, store: string): void {
  expect(listed(cacheOf(store))).toEqual([]);
  expect(listed(root).filter((n) => n !== "@image" && n !== "@cache")).toEqual([]);
  expect(listed(join(root, "@image"))).toEqual([]);
  expect(mountsUnder(root)).toEqual([]);
  if (existsSync(join(store, "index.json"))) expect(JSON.parse(readFileSync(join(store, "index.json"), "utf8")).manifests).toEqual([]);
  expect(listed(join(store, "blobs", "sha256"))).toEqual([]);
}

describe("run --image from the distribution registry", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
    const layout = join(work, "layout");
    writeLayout(layout, [img.manifest, img.config, ...img.layers], { "1": img.manifest });
    pushLayout(layout, "1", registry, "test/streamed");
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
  });

  test("a four-layer image is unpacked while it downloads, in order, and runs; the store has it verified", async () => {
    const { root, store } = fresh();
    const ref = `${registry.host}/test/streamed:1`;
    const r = await bunc(store, "--debug", "--root", root, "run", "--rm", "--image", ref);
    expect(r.stdout).toBe(EXPECTED_OUT);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(`${ref}: unpacking the layers as they download`);
    expect(listed(cacheOf(store))).toEqual([chainHex]);
    expect((await bunc(store, "images")).stdout).toContain(`${registry.host}/test/streamed`);
    for (const b of [img.manifest, img.config, ...img.layers]) {
      expect(new Uint8Array(readFileSync(join(store, "blobs", "sha256", b.digest.slice(7))))).toEqual(new Uint8Array(b.bytes));
    }
    expect(listed(join(store, ".bunc-tmp")).filter((n) => n.startsWith("partial-") || n.startsWith("complete-"))).toEqual([]);

    // A second run finds the tree: nothing is unpacked again.
    const again = await bunc(store, "--debug", "--root", root, "run", "--rm", "--image", ref);
    expect(again.stdout).toBe(EXPECTED_OUT);
    expect(again.stderr).not.toContain("unpacking the layers");
  });
});

describe("run --image from a registry of the test's own", () => {
  test("two cold runs of one image into one store at once: both run, one tree, each blob fetched once", async () => {
    const reg = serveFaulty();
    const { root, store } = fresh();
    const runs = await Promise.all(["a", "b"].map((id) => bunc(store, "--root", root, "run", "--rm", "--name", id, "--image", `${reg.host}/app:v1`)));
    expect(runs.map((r) => [r.exitCode, r.stdout, r.stderr])).toEqual([
      [0, EXPECTED_OUT, ""],
      [0, EXPECTED_OUT, ""],
    ]);
    expect(listed(cacheOf(store))).toEqual([chainHex]);
    for (const l of img.layers) expect(reg.requests(`/v2/app/blobs/${l.digest}`)).toHaveLength(1);
    expect(listed(join(store, ".bunc-tmp")).filter((n) => n.startsWith("partial-") || n.startsWith("complete-"))).toEqual([]);
  });

  test("a wrong digest on the first, a middle or the last layer fails the run with both digests and leaves nothing", async () => {
    for (const which of [0, 2, 3]) {
      const reg = serveFaulty();
      const layer = img.layers[which]!;
      const corrupt = new Uint8Array(layer.bytes);
      corrupt[Math.floor(corrupt.length / 2)]! ^= 0xff;
      reg.blobs.set(layer.digest, corrupt);
      const { root, store } = fresh();
      const r = await bunc(store, "--root", root, "run", "--rm", "--image", `${reg.host}/app:v1`);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`blob ${layer.digest}: digest mismatch: the registry sent content with digest ${sha256(corrupt)}, expected ${layer.digest}`);
      expect(r.stdout).toBe("");
      expectNothingLeft(root, store);
      // The bad blob's partial is gone; the other layers' partials stay for a pull to resume.
      expect(existsSync(join(store, ".bunc-tmp", `partial-sha256-${layer.digest.slice(7)}`))).toBe(false);
    }
  });

  test("the first layer's files are unpacked while the rest of its blob is held back; released, the run completes", async () => {
    const reg = serveFaulty();
    const first = img.layers[0]!;
    const held = 64 * 1024;
    const release = reg.stallBlob("app", first, held);
    const { root, store } = fresh();
    const child = Bun.spawn([buncPath(), "--store", store, "--root", root, "run", "--rm", "--image", `${reg.host}/app:v1`], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const output = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    const partial = join(store, ".bunc-tmp", `partial-sha256-${first.digest.slice(7)}`);
    try {
      // The marker, first in layer 1's tar, shows up in the unpack's temp dir...
      let marker: string | undefined;
      for (let i = 0; i < 600 && marker === undefined; i++) {
        const staging = listed(cacheOf(store)).find((n) => n.startsWith(".unpack-"));
        if (staging && existsSync(join(cacheOf(store), staging, "first", "marker"))) marker = join(cacheOf(store), staging, "first", "marker");
        else await Bun.sleep(25);
      }
      expect(marker).toBeDefined();
      expect(readFileSync(marker!, "utf8")).toBe("layer one\n");
      // ...while the blob is still the first `held` bytes of a download that has not finished.
      expect(statSync(partial).size).toBe(held);
      expect(existsSync(join(store, ".bunc-tmp", `complete-sha256-${first.digest.slice(7)}`))).toBe(false);
      expect(listed(cacheOf(store)).filter((n) => !n.startsWith(".unpack-"))).toEqual([]);
    } finally {
      release();
    }
    const [stdout, stderr] = await output;
    expect(stderr).toBe("");
    expect(stdout).toBe(EXPECTED_OUT);
    expect(await child.exited).toBe(0);
    expect(listed(cacheOf(store))).toEqual([chainHex]);
    // The held-back blob was resumed from where it stopped.
    expect(reg.requests(`/v2/app/blobs/${first.digest}`).map((q) => q.headers.range)).toEqual([undefined, `bytes=${held}-`]);
    expect(new Uint8Array(readFileSync(join(store, "blobs", "sha256", first.digest.slice(7))))).toEqual(new Uint8Array(first.bytes));
  });

  test("a partial an earlier pull left with wrong bytes: read, voided when its download starts again, unpacked from the store", async () => {
    const reg = serveFaulty();
    const first = img.layers[0]!;
    const { root, store } = fresh();
    const bad = new Uint8Array(first.bytes.subarray(0, 200_000));
    bad[150_000]! ^= 0xff;
    mkdirSync(join(store, ".bunc-tmp"), { recursive: true });
    writeFileSync(join(store, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    writeFileSync(join(store, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [] }));
    writeFileSync(join(store, ".bunc-tmp", `partial-sha256-${first.digest.slice(7)}`), bad);
    const r = await bunc(store, "--debug", "--root", root, "run", "--rm", "--image", `${reg.host}/app:v1`);
    expect(r.stdout).toBe(EXPECTED_OUT);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain("unpacking the layers as they download");
    expect(r.stderr).toContain("the layers' bytes as they downloaded were voided; unpacking them from the store");
    // Resumed from the partial, then fetched whole once its bytes did not verify.
    expect(reg.requests(`/v2/app/blobs/${first.digest}`).map((q) => q.headers.range)).toEqual(["bytes=200000-", undefined]);
    expect(listed(cacheOf(store))).toEqual([chainHex]);
  });
});
