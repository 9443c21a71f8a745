// `bunc pull`: registry images into the store, against the real CNCF distribution registry
// (images pushed with skopeo) and, for faults and request counts, a registry of the test's
// own. A pulled image is listed under its normalized name, found by its short name, made
// into a bundle and run; a failed pull leaves the store as it was; a killed pull is resumed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { containerFixture, expectOk } from "./support/assertions.ts";
import { buncPath } from "./support/bunc.ts";
import { FaultRegistry } from "./support/fault-registry.ts";
import { tarBytes, type TarEntry, busyboxEntries } from "./support/images.ts";
import { TmuxTerminal } from "./support/tmux.ts";
import { type Blob, type TestImage, blob, descriptor, image, index, layer, noise, sha256, writeLayout } from "./support/registry-images.ts";
import { type TestRegistry, pushLayout, startRegistry } from "./support/registry.ts";

const fx = containerFixture();
let work: string;
let registry: TestRegistry;
let busybox: TestImage;
let amd64: TestImage;
let arm64: TestImage;
let multi: Blob;
let conf: string;

const APPLETS = ["sh", "echo", "cat"];
const json = (v: unknown) => new Uint8Array(Buffer.from(JSON.stringify(v)));

/** One gzip layer of busybox and a file, with a config whose diff_ids are right. */
async function busyboxImage(): Promise<TestImage> {
  const entries: TarEntry[] = [
    ...busyboxEntries(APPLETS),
    { name: "srv/", type: "directory" },
    { name: "srv/greeting", content: "pulled from a registry\n" },
  ];
  const raw = await tarBytes(entries);
  const l = blob("application/vnd.oci.image.layer.v1.tar+gzip", new Uint8Array(gzipSync(raw)));
  const config = blob(
    "application/vnd.oci.image.config.v1+json",
    json({ architecture: "amd64", os: "linux", config: { Env: ["PATH=/bin"], Cmd: ["/bin/cat", "/srv/greeting"] }, rootfs: { type: "layers", diff_ids: [sha256(raw)] } }),
  );
  const manifest = blob(
    "application/vnd.oci.image.manifest.v1+json",
    json({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: descriptor(config), layers: [descriptor(l)] }),
  );
  return { config, layers: [l], manifest };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "bunc-pull-"));
  registry = await startRegistry();
  busybox = await busyboxImage();
  amd64 = image([await layer({ arch: "amd64\n" }, "gzip")], { architecture: "amd64", os: "linux" });
  arm64 = image([await layer({ arch: "arm64\n" }, "gzip")], { architecture: "arm64", os: "linux" });
  multi = index([
    { image: amd64, platform: { architecture: "amd64", os: "linux" } },
    { image: arm64, platform: { architecture: "arm64", os: "linux", variant: "v8" } },
  ]);
  const layout = join(work, "layout");
  const all = [busybox, amd64, arm64].flatMap((i) => [i.config, i.manifest, ...i.layers]);
  writeLayout(layout, [...all, multi], { "1": busybox.manifest, multi });
  pushLayout(layout, "1", registry, "library/busybox");
  pushLayout(layout, "1", registry, "tools/busybox");
  pushLayout(layout, "multi", registry, "test/multi", { all: true });
  // Docker Hub names resolve to the test registry, so short names are exercised offline.
  conf = join(work, "registries.json");
  writeFileSync(conf, JSON.stringify({ registries: { "docker.io": { location: registry.host } } }));
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** bunc as a child, awaited: the test's own registry (in this process) keeps answering. */
async function bunc(store: string, ...args: string[]): Promise<Run> {
  const child = Bun.spawn([buncPath(), "--store", store, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, BUNC_REGISTRIES_CONF: conf } });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { exitCode, stdout, stderr };
}

async function ok(store: string, ...args: string[]): Promise<Run> {
  const r = await bunc(store, ...args);
  if (r.exitCode !== 0) throw new Error(`bunc ${args.join(" ")} failed (${r.exitCode}): ${r.stderr}`);
  return r;
}

const newStore = () => join(mkdtempSync(join(work, "case-")), "store");
const indexOf = (store: string) => JSON.parse(readFileSync(join(store, "index.json"), "utf8"));
const blobsIn = (store: string) => (existsSync(join(store, "blobs", "sha256")) ? readdirSync(join(store, "blobs", "sha256")).sort() : []);
const hex12 = (b: Blob) => b.digest.slice(7, 19);

describe("pull from a registry", () => {
  test("a short name is normalized, listed, made into a bundle by its short name and run", async () => {
    const store = newStore();
    const r = await ok(store, "pull", "busybox:1");
    expect(r.stdout).toBe(`docker.io/library/busybox:1 ${busybox.manifest.digest}\n`);
    expect(r.stderr).toBe(`${hex12(busybox.layers[0]!)} done ${busybox.layers[0]!.size}\n`);
    const entry = indexOf(store).manifests[0];
    expect(entry.annotations["org.opencontainers.image.ref.name"]).toBe("docker.io/library/busybox:1");
    expect(entry.platform).toEqual({ os: "linux", architecture: "amd64" });
    for (const b of [busybox.manifest, busybox.config, ...busybox.layers]) {
      expect(new Uint8Array(readFileSync(join(store, "blobs", "sha256", b.digest.slice(7))))).toEqual(new Uint8Array(b.bytes));
    }
    expect((await ok(store, "images")).stdout).toContain(`docker.io/library/busybox:1  ${busybox.manifest.digest.slice(7, 19)}`);
    // Short forms find the normalized name: docker's and the explicit library/ one.
    expect(JSON.parse((await ok(store, "inspect", "library/busybox:1")).stdout).config.config.Cmd).toEqual(["/bin/cat", "/srv/greeting"]);
    const bundle = join(work, `bundle-${Date.now()}`);
    await ok(store, "bundle", "busybox:1", bundle);
    expect(expectOk(fx.rt.bunc(["run", "--bundle", bundle, fx.rt.id()]))).toBe("pulled from a registry\n");
    rmSync(bundle, { recursive: true, force: true });
    // Nothing is left in the temp area.
    expect(readdirSync(join(store, ".bunc-tmp")).filter((n) => !n.startsWith("index-"))).toEqual([]);
  });

  test("a name with a registry host is kept as it is; --quiet prints no progress", async () => {
    const store = newStore();
    const r = await ok(store, "pull", "--quiet", `${registry.host}/tools/busybox:1`);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${registry.host}/tools/busybox:1 ${busybox.manifest.digest}\n`);
  });

  test("from an index the host's platform is chosen, --platform takes another", async () => {
    const store = newStore();
    expect((await ok(store, "pull", "-q", `${registry.host}/test/multi:multi`)).stdout).toBe(`${registry.host}/test/multi:multi ${amd64.manifest.digest}\n`);
    expect((await ok(store, "pull", "-q", "--platform", "linux/arm64", `docker://${registry.host}/test/multi:multi`)).stdout).toBe(`${registry.host}/test/multi:multi ${arm64.manifest.digest}\n`);
    const entries = indexOf(store).manifests;
    expect(entries).toHaveLength(1);
    expect(entries[0].digest).toBe(arm64.manifest.digest);
    expect(entries[0].platform).toEqual({ os: "linux", architecture: "arm64" });
  });

  test("no image for the platform: an error listing the platforms, the store unchanged", async () => {
    const store = newStore();
    await ok(store, "pull", "-q", `${registry.host}/test/multi:multi`);
    const before = { index: readFileSync(join(store, "index.json"), "utf8"), blobs: blobsIn(store) };
    const r = await bunc(store, "pull", "--platform", "linux/s390x", `${registry.host}/test/multi:multi`);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("no image for platform linux/s390x; it has linux/amd64, linux/arm64/v8");
    expect(readFileSync(join(store, "index.json"), "utf8")).toBe(before.index);
    expect(blobsIn(store)).toEqual(before.blobs);
    // A single-platform image asked for as another platform is refused too.
    const other = await bunc(store, "pull", "--platform", "linux/arm64", `${registry.host}/tools/busybox:1`);
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toContain("is for platform linux/amd64, not linux/arm64");
    expect(readFileSync(join(store, "index.json"), "utf8")).toBe(before.index);
    expect(blobsIn(store)).toEqual(before.blobs);
  });

  test("--format json prints progress and the result as JSON lines", async () => {
    const store = newStore();
    const r = await ok(store, "pull", "--format", "json", `${registry.host}/tools/busybox:1`);
    const lines = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    const l = busybox.layers[0]!;
    const progress = lines.slice(0, -1);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    for (const p of progress) expect(Object.keys(p)).toEqual(["digest", "received", "total", "done"]);
    expect(progress.at(-1)).toEqual({ digest: l.digest, received: l.size, total: l.size, done: true });
    expect(lines.at(-1)).toEqual({ name: `${registry.host}/tools/busybox:1`, digest: busybox.manifest.digest, blobsAdded: 3 });
    expect(r.stderr).toBe("");
  });

  test("bunc bundle docker://… pulls on demand, then runs", async () => {
    const store = newStore();
    const bundle = join(work, `bundle-docker-${Date.now()}`);
    await ok(store, "bundle", `docker://${registry.host}/tools/busybox:1`, bundle);
    expect(indexOf(store).manifests.map((d: { annotations: Record<string, string> }) => d.annotations["org.opencontainers.image.ref.name"])).toEqual([`${registry.host}/tools/busybox:1`]);
    expect(expectOk(fx.rt.bunc(["run", "--bundle", bundle, fx.rt.id()]))).toBe("pulled from a registry\n");
    rmSync(bundle, { recursive: true, force: true });
  });

  test("a name with a registry host that the store lacks is pulled on demand; a digest reference is kept by digest", async () => {
    const store = newStore();
    const inspected = JSON.parse((await ok(store, "inspect", `${registry.host}/tools/busybox:1`)).stdout);
    expect(inspected.manifestDigest).toBe(busybox.manifest.digest);
    const byDigest = `${registry.host}/tools/busybox@${busybox.manifest.digest}`;
    expect((await ok(store, "pull", "-q", byDigest)).stdout).toBe(`${byDigest} ${busybox.manifest.digest}\n`);
    const names = indexOf(store).manifests.map((d: { annotations: Record<string, string> }) => d.annotations["org.opencontainers.image.ref.name"]).sort();
    expect(names).toEqual([`${registry.host}/tools/busybox:1`, byDigest].sort());
    expect(JSON.parse((await ok(store, "inspect", byDigest)).stdout).manifestDigest).toBe(busybox.manifest.digest);
    // A digest of an index stores the platform's manifest under the reference as given.
    const index = `${registry.host}/test/multi@${multi.digest}`;
    expect((await ok(store, "pull", "-q", index)).stdout).toBe(`${index} ${amd64.manifest.digest}\n`);
    expect(JSON.parse((await ok(store, "inspect", `docker://${index}`)).stdout).manifestDigest).toBe(amd64.manifest.digest);
    // import from a registry: pulled, then stored under its own name or the one given.
    expect((await ok(store, "import", `docker://${registry.host}/tools/busybox:1`)).stdout).toBe(`${registry.host}/tools/busybox:1 ${busybox.manifest.digest}\n`);
    expect((await ok(store, "import", `docker://${registry.host}/tools/busybox:1`, "mine:1")).stdout).toBe(`mine:1 ${busybox.manifest.digest}\n`);
  });

  test("bad input: a bad reference, a bad platform, a missing tag; no store is made", async () => {
    const store = newStore();
    const bad = await bunc(store, "pull", "Bad/Name");
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('invalid image reference "Bad/Name"');
    const platform = await bunc(store, "pull", "--platform", "linux", "busybox:1");
    expect(platform.exitCode).not.toBe(0);
    expect(platform.stderr).toContain('--platform "linux"');
    const missing = await bunc(store, "pull", `${registry.host}/tools/busybox:nope`);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("tools/busybox:nope: not found");
    const conf = await bunc(store, "pull", "--registries-conf", join(work, "no-such.json"), "busybox:1");
    expect(conf.exitCode).toBe(1);
    expect(conf.stderr).toContain(`registries config ${join(work, "no-such.json")}`);
    const tls = await bunc(store, "pull", "--tls-verify=maybe", "busybox:1");
    expect(tls.exitCode).not.toBe(0);
    expect(tls.stderr).toContain("--tls-verify");
    expect(existsSync(store)).toBe(false);
    // --tls-verify=false is accepted (a loopback registry speaks plain HTTP anyway).
    expect((await ok(store, "pull", "-q", "--tls-verify=false", `${registry.host}/tools/busybox:1`)).stdout).toContain(busybox.manifest.digest);
    const unknown = await bunc(store, "inspect", "nothing:1");
    expect(unknown.stderr).toContain('"nothing:1" is not in the store');
    expect(unknown.stderr).toContain('"bunc pull nothing:1"');
  });
});

describe("pull faults (a registry of the test's own)", () => {
  const regs: FaultRegistry[] = [];
  afterAll(() => regs.forEach((r) => r.stop()));
  const serve = (img: TestImage) => {
    const reg = new FaultRegistry();
    regs.push(reg);
    reg.addManifest("app", img.manifest, ["v1"]);
    for (const b of [img.config, ...img.layers]) reg.addBlob(b);
    return reg;
  };

  test("a second pull downloads nothing: a HEAD for the tag, no blob fetched", async () => {
    const img = image([await layer({ "a.bin": noise(50_000) }, "gzip"), await layer({ "b.bin": noise(20_000) }, "gzip")]);
    const reg = serve(img);
    const store = newStore();
    await ok(store, "pull", "-q", `${reg.host}/app:v1`);
    const firstBlobs = reg.requests("/v2/app/blobs/").length;
    expect(firstBlobs).toBe(3);
    reg.log.length = 0;
    const r = await ok(store, "pull", "--format", "json", `${reg.host}/app:v1`);
    expect(JSON.parse(r.stdout.trimEnd().split("\n").at(-1)!).blobsAdded).toBe(0);
    expect(reg.requests("/v2/app/").map((q) => `${q.method} ${q.path}`)).toEqual([`HEAD /v2/app/manifests/v1`]);
    // Progress says the layers were there already.
    const third = await ok(store, "pull", `${reg.host}/app:v1`);
    expect(third.stderr).toBe(img.layers.map((l) => `${l.digest.slice(7, 19)} exists ${l.size}\n`).join(""));
  });

  test("two pulls of one image at once both land; each blob is fetched once", async () => {
    const img = image([await layer({ "a.bin": noise(400_000) }, "gzip"), await layer({ "b.bin": noise(300_000) }, "gzip")]);
    const reg = serve(img);
    const store = newStore();
    const [a, b] = await Promise.all([ok(store, "pull", "-q", `${reg.host}/app:v1`), ok(store, "pull", "-q", `${reg.host}/app:v1`)]);
    expect(a.stdout).toBe(b.stdout);
    for (const l of img.layers) expect(reg.requests(`/v2/app/blobs/${l.digest}`)).toHaveLength(1);
    expect(indexOf(store).manifests).toHaveLength(1);
    expect(blobsIn(store)).toEqual([img.manifest, img.config, ...img.layers].map((x) => x.digest.slice(7)).sort());
    expect(readdirSync(join(store, ".bunc-tmp"))).toEqual([]);
  });

  test("a wrong layer digest fails the pull and leaves the store as it was", async () => {
    const good = image([await layer({ "ok.txt": "ok\n" }, "gzip")]);
    const img = image([await layer({ "x.bin": noise(30_000) }, "gzip")]);
    const reg = serve(img);
    const store = newStore();
    reg.addManifest("good", good.manifest, ["v1"]);
    for (const b of [good.config, ...good.layers]) reg.addBlob(b);
    await ok(store, "pull", "-q", `${reg.host}/good:v1`);
    const before = { index: readFileSync(join(store, "index.json"), "utf8"), blobs: blobsIn(store) };
    const l = img.layers[0]!;
    const corrupt = new Uint8Array(l.bytes);
    corrupt[100] = corrupt[100]! ^ 0xff;
    reg.blobs.set(l.digest, corrupt);
    const r = await bunc(store, "pull", `${reg.host}/app:v1`);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`blob ${l.digest}: digest mismatch`);
    expect(readFileSync(join(store, "index.json"), "utf8")).toBe(before.index);
    expect(blobsIn(store)).toEqual(before.blobs);
    expect(readdirSync(join(store, ".bunc-tmp")).filter((n) => n.startsWith("partial-"))).toEqual([]);
  });

  test("a pull killed mid-layer is resumed by the next; gc spares the partial while a pull runs", async () => {
    const img = image([await layer({ "big.bin": noise(300_000) }, "gzip")]);
    const l = img.layers[0]!;
    const reg = serve(img);
    const release = reg.stallBlob("app", l, 100_000);
    const store = newStore();
    const partial = join(store, ".bunc-tmp", `partial-sha256-${l.digest.slice(7)}`);
    const child = Bun.spawn([buncPath(), "--store", store, "pull", "-q", `${reg.host}/app:v1`], { stdout: "ignore", stderr: "ignore" });
    try {
      for (let i = 0; i < 400 && !(existsSync(partial) && statSync(partial).size === 100_000); i++) await Bun.sleep(25);
      expect(statSync(partial).size).toBe(100_000);
      await ok(store, "gc");
      expect(statSync(partial).size).toBe(100_000);
    } finally {
      child.kill("SIGKILL");
      await child.exited;
      release();
    }
    expect(indexOf(store).manifests).toEqual([]);
    reg.log.length = 0;
    const r = await ok(store, "pull", `${reg.host}/app:v1`);
    expect(r.stdout).toBe(`${reg.host}/app:v1 ${img.manifest.digest}\n`);
    expect(reg.requests(`/v2/app/blobs/${l.digest}`).map((q) => q.headers.range)).toEqual(["bytes=100000-"]);
    expect(new Uint8Array(readFileSync(join(store, "blobs", "sha256", l.digest.slice(7))))).toEqual(new Uint8Array(l.bytes));
  });

  test("on a terminal a status line shows the bytes so far, and is gone at the end", async () => {
    const img = image([await layer({ "big.bin": noise(300_000) }, "gzip")]);
    const l = img.layers[0]!;
    const reg = serve(img);
    const release = reg.stallBlob("app", l, 100_000);
    const dir = mkdtempSync(join(work, "tty-"));
    const term = new TmuxTerminal(dir, [`${buncPath()} --store ${join(dir, "store")} pull ${reg.host}/app:v1; echo rc=$?`], 120, 20);
    // Polled with awaits: the registry answering the pull lives in this process.
    const screenWith = async (text: string) => {
      for (let i = 0; i < 400; i++) {
        const screen = term.screen();
        if (screen.includes(text)) return screen;
        await Bun.sleep(25);
      }
      throw new Error(`"${text}" never showed; the screen:\n${term.screen()}`);
    };
    try {
      expect(await screenWith("0/1 layers, 0.1 MiB of 0.3 MiB")).toContain(`pulling ${reg.host}/app:v1: `);
      release();
      const screen = await screenWith("rc=");
      expect(screen).toContain(`${l.digest.slice(7, 19)} done ${l.size}\n${reg.host}/app:v1 ${img.manifest.digest}\nrc=0`);
      expect(screen).not.toContain("pulling ");
    } finally {
      release();
      term.close();
    }
  });

  test("gc removes the partial a killed pull left once no pull runs", async () => {
    const img = image([await layer({ "big.bin": noise(200_000) }, "gzip")]);
    const l = img.layers[0]!;
    const store = newStore();
    // As a killed pull leaves it: a store, and a partial no one holds.
    const reg = serve(img);
    await ok(store, "pull", "-q", `${reg.host}/app:v1`);
    const partial = join(store, ".bunc-tmp", `partial-sha256-${"1".repeat(64)}`);
    writeFileSync(partial, l.bytes.subarray(0, 1000));
    const complete = join(store, ".bunc-tmp", `complete-sha256-${"2".repeat(64)}`);
    writeFileSync(complete, "x");
    await ok(store, "gc");
    expect(existsSync(partial)).toBe(false);
    expect(existsSync(complete)).toBe(false);
    expect(blobsIn(store)).toHaveLength(3);
  });
});
