// The image store through the CLI: import from each transport, images/rmi/gc/inspect,
// platform selection, hostile input (each leaves the store as it was), concurrent imports,
// and interop with umoci and skopeo reading and writing the same OCI layouts.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { buncPath } from "./support/bunc.ts";
import { blobsOf, dockerArchiveEntries, makeImage, makeIndex, REF_NAME, sha256, tarBytes, tempDir, treeEntries, writeLayout, type Blob, type TarEntry } from "./support/images.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function workDir(): string {
  const d = tempDir("images");
  dirs.push(d);
  return d;
}

interface Run {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

function bunc(store: string, ...args: string[]): Run {
  const r = Bun.spawnSync([buncPath(), "--store", store, ...args], { stdout: "pipe", stderr: "pipe", timeout: 60_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function ok(store: string, ...args: string[]): string {
  const r = bunc(store, ...args);
  if (r.exitCode !== 0) throw new Error(`bunc ${args.join(" ")} failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout;
}

function tool(...argv: string[]): string {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** Every file of the store but its staging area, with index.json's text: what must not change. */
function snapshot(store: string): { files: string[]; index: string } {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (relative(store, p) === ".bunc-tmp") continue;
      if (statSync(p).isDirectory()) walk(p);
      else files.push(relative(store, p));
    }
  };
  if (existsSync(store)) walk(store);
  return { files: files.sort(), index: existsSync(join(store, "index.json")) ? readFileSync(join(store, "index.json"), "utf8") : "" };
}

const indexOf = (store: string) => JSON.parse(readFileSync(join(store, "index.json"), "utf8")) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
const names = (store: string) => indexOf(store).manifests.map((m) => m.annotations?.[REF_NAME]).sort();

async function layoutWith(dir: string, name = "v1", spec = {}): Promise<Awaited<ReturnType<typeof makeImage>>> {
  const img = await makeImage(spec);
  writeLayout(dir, [{ descriptor: img.manifest.descriptor, name }], blobsOf(img));
  return img;
}

describe("import from each transport", () => {
  test("oci:, oci-archive:, docker-archive: and a store name", async () => {
    const w = workDir();
    const store = join(w, "store");
    const img = await layoutWith(join(w, "busybox"), "1.36", { gzip: true });
    expect(ok(store, "import", `oci:${join(w, "busybox")}:1.36`).trim()).toBe(`busybox:1.36 ${img.manifest.descriptor.digest}`);
    // The store is a layout: the tag is a ref.name annotation with the full name.
    expect(JSON.parse(readFileSync(join(store, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
    expect(names(store)).toEqual(["busybox:1.36"]);
    for (const b of blobsOf(img)) expect(readFileSync(join(store, "blobs/sha256", b.descriptor.digest.slice(7)))).toEqual(Buffer.from(b.bytes));

    writeFileSync(join(w, "a.tar"), await tarBytes(treeEntries(join(w, "busybox"))));
    ok(store, "import", `oci-archive:${join(w, "a.tar")}:1.36`, "arch:1");
    const docker = await makeImage({ files: { d: "docker" } });
    writeFileSync(join(w, "d.tar"), await tarBytes(await dockerArchiveEntries([{ image: docker, tags: ["library/dock:2"], gzip: true }, { image: img, tags: ["other:3"] }])));
    expect(ok(store, "import", `docker-archive:${join(w, "d.tar")}:dock:2`)).toStartWith("dock:2 sha256:");
    expect(ok(store, "import", `docker-archive:${join(w, "d.tar")}:@1`)).toStartWith("other:3 sha256:");
    ok(store, "import", "busybox:1.36", "copy");
    expect(names(store)).toEqual(["arch:1", "busybox:1.36", "copy:latest", "dock:2", "other:3"]);
    const dock = JSON.parse(ok(store, "inspect", "dock:2"));
    expect(dock.manifest.layers[0].mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    expect(dock.config.rootfs.diff_ids).toEqual([sha256(docker.layerTars[0]!)]);
    // Importing again under the same name replaces the entry, adds no duplicate.
    ok(store, "import", `oci:${join(w, "busybox")}:1.36`);
    expect(names(store).filter((n) => n === "busybox:1.36")).toHaveLength(1);
  });

  test("a source without a name needs one; bad names are refused before anything is read", async () => {
    const w = workDir();
    const store = join(w, "store");
    const img = await makeImage();
    writeLayout(join(w, "L"), [{ descriptor: img.manifest.descriptor }], blobsOf(img));
    const r = bunc(store, "import", `oci:${join(w, "L")}`);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/carries no name: give one/);
    expect(bunc(store, "import", `oci:${join(w, "L")}`, "Bad:Name").stderr).toMatch(/path component "Bad"/);
    expect(bunc(store, "import", `oci:${join(w, "L")}`, `x@sha256:${"a".repeat(64)}`).stderr).toMatch(/a store name has a tag, not a digest/);
    expect(ok(store, "import", `oci:${join(w, "L")}`, "named")).toStartWith("named:latest ");
  });

  test("a name not in the store says how to get it; an unreachable registry makes no store", () => {
    const w = workDir();
    const r = bunc(join(w, "store"), "import", "127.0.0.1:1/a/b:1");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/127\.0\.0\.1:1/);
    expect(bunc(join(w, "store"), "import", "busybox").stderr).toMatch(/"busybox:latest" is not in the store .*; "bunc pull busybox:latest"/);
    expect(existsSync(join(w, "store"))).toBe(false);
  });
});

describe("images, inspect, rmi, gc", () => {
  test("list, inspect, untag, collect", async () => {
    const w = workDir();
    const store = join(w, "store");
    expect(ok(store, "images").trim()).toBe("NAME  DIGEST  SIZE  CREATED");
    expect(JSON.parse(ok(store, "images", "--format", "json"))).toEqual([]);
    const a = await layoutWith(join(w, "a"), "1", { files: { a: "aaa" } });
    const b = await layoutWith(join(w, "b"), "1", { files: { b: "bbb" } });
    ok(store, "import", `oci:${join(w, "a")}:1`);
    ok(store, "import", `oci:${join(w, "b")}:1`);
    ok(store, "import", `oci:${join(w, "b")}:1`, "b2:x");
    const list = JSON.parse(ok(store, "images", "--format", "json"));
    const total = (i: typeof a) => blobsOf(i).reduce((s, x) => s + x.bytes.length, 0);
    expect(list).toEqual([
      { name: "a:1", digest: a.manifest.descriptor.digest, mediaType: a.manifest.descriptor.mediaType, size: total(a), created: "2026-01-02T03:04:05Z" },
      { name: "b2:x", digest: b.manifest.descriptor.digest, mediaType: b.manifest.descriptor.mediaType, size: total(b), created: "2026-01-02T03:04:05Z" },
      { name: "b:1", digest: b.manifest.descriptor.digest, mediaType: b.manifest.descriptor.mediaType, size: total(b), created: "2026-01-02T03:04:05Z" },
    ]);
    const table = ok(store, "images").trim().split("\n");
    expect(table[0]).toMatch(/^NAME\s+DIGEST\s+SIZE\s+CREATED$/);
    expect(table[1]).toMatch(new RegExp(`^a:1\\s+${a.manifest.descriptor.digest.slice(7, 19)}\\s+${(total(a) / 1024).toFixed(1)} KiB\\s+2026-01-02T03:04:05Z$`));

    const inspected = JSON.parse(ok(store, "inspect", "a:1"));
    expect(inspected.manifestDigest).toBe(a.manifest.descriptor.digest);
    expect(inspected.manifest).toEqual(JSON.parse(new TextDecoder().decode(a.manifest.bytes)));
    expect(inspected.config).toEqual(JSON.parse(new TextDecoder().decode(a.config.bytes)));
    expect(JSON.parse(ok(store, "inspect", `oci:${join(w, "b")}:1`)).configDigest).toBe(b.config.descriptor.digest);
    expect(JSON.parse(ok(store, "inspect", `b@${b.manifest.descriptor.digest}`)).manifestDigest).toBe(b.manifest.descriptor.digest);
    expect(bunc(store, "inspect", "nope").stderr).toMatch(/image "nope:latest" is not in the store/);

    // gc keeps what tags reach; b's blobs stay while b2:x still names them.
    expect(ok(store, "rmi", "b:1").trim()).toBe("Untagged: b:1");
    expect(ok(store, "gc")).toMatch(/^removed 0 blobs/);
    ok(store, "rmi", "b2:x", "a:1");
    expect(bunc(store, "rmi", "a:1").stderr).toMatch(/image "a:1" is not in the store/);
    // A staging dir of a dead import and a stray index temp file are removed too.
    mkdirSync(join(store, ".bunc-tmp", "import-dead"), { recursive: true });
    writeFileSync(join(store, ".bunc-tmp", "import-dead", "blob-0"), "half");
    writeFileSync(join(store, ".bunc-tmp", "index-dead"), "{");
    const freed = blobsOf(a).length + blobsOf(b).length;
    expect(ok(store, "gc").trim()).toBe(`removed ${freed} blobs (${total(a) + total(b)} bytes) and 2 temporary files`);
    expect(readdirSync(join(store, "blobs/sha256"))).toEqual([]);
    expect(readdirSync(join(store, ".bunc-tmp"))).toEqual([]);
  });

  test("gc refuses to guess when a reachable manifest is unreadable", async () => {
    const w = workDir();
    const store = join(w, "store");
    const img = await layoutWith(join(w, "a"), "1");
    ok(store, "import", `oci:${join(w, "a")}:1`);
    writeFileSync(join(store, "blobs/sha256", img.manifest.descriptor.digest.slice(7)), "garbage!".repeat(100).slice(0, img.manifest.bytes.length));
    const before = snapshot(store);
    const r = bunc(store, "gc");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/digest mismatch/);
    expect(snapshot(store)).toEqual(before);
  });
});

describe("platforms", () => {
  test("--platform picks from an index; no match lists what there is", async () => {
    const w = workDir();
    const store = join(w, "store");
    const amd = await makeImage({ architecture: "amd64", files: { a: "amd" } });
    const arm = await makeImage({ architecture: "arm", variant: "v6", files: { a: "arm" } });
    const idx = makeIndex([
      { descriptor: amd.manifest.descriptor, platform: { os: "linux", architecture: "amd64" } },
      { descriptor: arm.manifest.descriptor, platform: { os: "linux", architecture: "arm", variant: "v6" } },
    ]);
    writeLayout(join(w, "m"), [{ descriptor: idx.descriptor, name: "multi" }], [...blobsOf(amd), ...blobsOf(arm), idx]);
    expect(ok(store, "import", "--platform", "linux/arm/v7", `oci:${join(w, "m")}:multi`, "m:arm")).toContain(arm.manifest.descriptor.digest);
    expect(ok(store, "import", "--platform", "linux/amd64", `oci:${join(w, "m")}:multi`, "m:amd")).toContain(amd.manifest.descriptor.digest);
    expect(JSON.parse(ok(store, "inspect", "--platform", "linux/arm/v6", `oci:${join(w, "m")}:multi`)).config.variant).toBe("v6");
    const before = snapshot(store);
    const r = bunc(store, "import", "--platform", "linux/arm64", `oci:${join(w, "m")}:multi`, "m:arm64");
    expect(r.stderr).toMatch(/no image for platform linux\/arm64\/?.*; it has linux\/amd64, linux\/arm\/v6/);
    expect(bunc(store, "import", "--platform", "linux/arm/v5", `oci:${join(w, "m")}:multi`, "x").stderr).toMatch(/no image for platform linux\/arm\/v5/);
    expect(bunc(store, "import", "--platform", "linux", `oci:${join(w, "m")}:multi`).stderr).toMatch(/--platform "linux": expected os\/arch/);
    expect(snapshot(store)).toEqual(before);
  });
});

describe("hostile input leaves the store unchanged", () => {
  async function hostileCase(w: string, store: string, source: string, message: RegExp): Promise<void> {
    const before = snapshot(store);
    const r = bunc(store, "import", source, "evil:1");
    expect({ exit: r.exitCode, stderr: r.stderr }).toEqual({ exit: 1, stderr: expect.stringMatching(message) });
    expect(snapshot(store)).toEqual(before);
    expect(readdirSync(join(store, ".bunc-tmp"))).toEqual([]);
    void w;
  }

  test("bad layouts, archives and descriptors", async () => {
    const w = workDir();
    const store = join(w, "store");
    await layoutWith(join(w, "good"), "1");
    ok(store, "import", `oci:${join(w, "good")}:1`);

    // A layer whose bytes are not what the manifest says.
    const img = await makeImage({ files: { x: "real" } });
    const fake: Blob = { ...img.layers[0]!, bytes: (await makeImage({ files: { x: "fake" } })).layers[0]!.bytes };
    writeLayout(join(w, "wrong"), [{ descriptor: img.manifest.descriptor, name: "1" }], [img.manifest, img.config, fake]);
    await hostileCase(w, store, `oci:${join(w, "wrong")}:1`, /layer 0 sha256:[0-9a-f]{64} of .*digest mismatch/);

    // A descriptor whose digest is a path.
    writeLayout(join(w, "path"), [{ descriptor: { ...img.manifest.descriptor, digest: "sha256:../../../../../etc/passwd" }, name: "1" }], blobsOf(img));
    await hostileCase(w, store, `oci:${join(w, "path")}:1`, /invalid digest "sha256:\.\.\/\.\.\//);
    const layerPath = await makeImage({ manifestExtra: { layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: "sha256:/etc/shadow", size: 1 }] } });
    writeLayout(join(w, "path2"), [{ descriptor: layerPath.manifest.descriptor, name: "1" }], blobsOf(layerPath));
    await hostileCase(w, store, `oci:${join(w, "path2")}:1`, /layers\[0\]: digest: invalid digest "sha256:\/etc\/shadow"/);

    // A manifest past the 4 MiB cap.
    const huge = new Uint8Array(4 * 1024 * 1024 + 1);
    writeLayout(join(w, "huge"), [{ descriptor: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha256(huge), size: huge.length }, name: "1" }], [{ bytes: huge, descriptor: { mediaType: "x", digest: sha256(huge), size: huge.length } }]);
    await hostileCase(w, store, `oci:${join(w, "huge")}:1`, /4194305 bytes is more than the limit of 4194304/);

    // A truncated oci-archive.
    const good = await tarBytes(treeEntries(join(w, "wrong")));
    writeFileSync(join(w, "trunc.tar"), good.subarray(0, Math.floor(good.length / 2) + 100));
    await hostileCase(w, store, `oci-archive:${join(w, "trunc.tar")}:1`, /oci-archive:.*trunc\.tar: truncated archive/);

    // Links and ".." in an oci-archive.
    const entries = treeEntries(join(w, "good"));
    const withExtra = async (file: string, extra: TarEntry) => writeFileSync(join(w, file), await tarBytes([...entries, extra]));
    await withExtra("sym.tar", { name: "blobs/sha256/evil", type: "symlink", linkname: "/etc/shadow" });
    await hostileCase(w, store, `oci-archive:${join(w, "sym.tar")}:1`, /entry "blobs\/sha256\/evil" is a symlink to "\/etc\/shadow"/);
    await withExtra("hard.tar", { name: "blobs/sha256/evil", type: "link", linkname: "oci-layout" });
    await hostileCase(w, store, `oci-archive:${join(w, "hard.tar")}:1`, /entry "blobs\/sha256\/evil" is a link to "oci-layout"/);
    await withExtra("dots.tar", { name: "blobs/../../escape", content: "x" });
    await hostileCase(w, store, `oci-archive:${join(w, "dots.tar")}:1`, /entry "blobs\/\.\.\/\.\.\/escape": the name holds a "\.\." component/);
    await withExtra("abs.tar", { name: "/etc/x", content: "x" });
    await hostileCase(w, store, `oci-archive:${join(w, "abs.tar")}:1`, /entry "\/etc\/x": absolute path/);

    // docker-archive: a layer that is a symlink, a layer path with "..", a missing layer.
    const d = await makeImage();
    const dEntries = await dockerArchiveEntries([{ image: d, tags: ["x:1"] }]);
    const manifest = JSON.parse(String(dEntries.find((e) => e.name === "manifest.json")!.content));
    const layerName = manifest[0].Layers[0];
    const swapped = dEntries.map((e) => (e.name === layerName ? { name: layerName, type: "symlink" as const, linkname: "/etc/passwd" } : e));
    writeFileSync(join(w, "dsym.tar"), await tarBytes(swapped));
    await hostileCase(w, store, `docker-archive:${join(w, "dsym.tar")}`, /entry ".*layer\.tar" in docker-archive:.* is a symlink to "\/etc\/passwd", not a regular file/);
    const dotted = dEntries.map((e) => (e.name === "manifest.json" ? { name: e.name, content: JSON.stringify([{ ...manifest[0], Layers: ["../../etc/passwd"] }]) } : e));
    writeFileSync(join(w, "ddots.tar"), await tarBytes(dotted));
    await hostileCase(w, store, `docker-archive:${join(w, "ddots.tar")}`, /Layers\[0\] "\.\.\/\.\.\/etc\/passwd".*the name holds a "\.\." component/);
    writeFileSync(join(w, "dmiss.tar"), await tarBytes(dEntries.filter((e) => e.name !== layerName)));
    await hostileCase(w, store, `docker-archive:${join(w, "dmiss.tar")}`, /has no entry ".*layer\.tar"/);
    writeFileSync(join(w, "dtrunc.tar"), (await tarBytes(dEntries)).subarray(0, 1500));
    await hostileCase(w, store, `docker-archive:${join(w, "dtrunc.tar")}`, /truncated archive/);
  });
});

describe("concurrent imports", () => {
  test("two processes importing at once leave one consistent store", async () => {
    const w = workDir();
    const store = join(w, "store");
    const img = await layoutWith(join(w, "a"), "1", { files: { big: "x".repeat(2_000_000) } });
    const other = await layoutWith(join(w, "b"), "1", { files: { big: "y".repeat(2_000_000) } });
    const spawn = (...args: string[]) => Bun.spawn([buncPath(), "--store", store, ...args], { stdout: "pipe", stderr: "pipe" });
    const procs = [
      spawn("import", `oci:${join(w, "a")}:1`, "same:1"),
      spawn("import", `oci:${join(w, "a")}:1`, "same:1"),
      spawn("import", `oci:${join(w, "b")}:1`, "other:1"),
      spawn("import", `oci:${join(w, "a")}:1`, "third:1"),
    ];
    const codes = await Promise.all(procs.map((p) => p.exited));
    const errs = await Promise.all(procs.map((p) => new Response(p.stderr).text()));
    expect({ codes, errs }).toEqual({ codes: [0, 0, 0, 0], errs: ["", "", "", ""] });
    expect(names(store)).toEqual(["other:1", "same:1", "third:1"]);
    for (const b of [...blobsOf(img), ...blobsOf(other)]) {
      expect(sha256(readFileSync(join(store, "blobs/sha256", b.descriptor.digest.slice(7))))).toBe(b.descriptor.digest);
    }
    expect(readdirSync(join(store, ".bunc-tmp"))).toEqual([]);
    expect(ok(store, "gc")).toMatch(/^removed 0 blobs/);
  });
});

describe("a crash", () => {
  test("an import killed mid-way leaves only whole blobs, and gc clears its staging", async () => {
    const w = workDir();
    const store = join(w, "store");
    await layoutWith(join(w, "small"), "1");
    ok(store, "import", `oci:${join(w, "small")}:1`);
    const before = snapshot(store);
    const noise = new Uint8Array(48 * 1024 * 1024);
    for (let i = 0; i < noise.length; i += 65536) crypto.getRandomValues(noise.subarray(i, i + 65536));
    await layoutWith(join(w, "big"), "1", { files: { noise: Buffer.from(noise).toString("latin1") } });
    const proc = Bun.spawn([buncPath(), "--store", store, "import", `oci:${join(w, "big")}:1`, "big:1"], { stdout: "ignore", stderr: "ignore" });
    // Kill it once it is writing into its staging directory (or whenever it got to).
    const staging = join(store, ".bunc-tmp");
    for (let i = 0; i < 2000 && proc.exitCode === null; i++) {
      const busy = readdirSync(staging).some((d) => d.startsWith("import-") && readdirSync(join(staging, d)).length > 0);
      if (busy) break;
      await Bun.sleep(2);
    }
    proc.kill("SIGKILL");
    await proc.exited;
    for (const f of readdirSync(join(store, "blobs/sha256"))) {
      expect(sha256(readFileSync(join(store, "blobs/sha256", f)))).toBe(`sha256:${f}`);
    }
    const after = names(store);
    if (after.includes("big:1")) expect(after).toEqual(["big:1", "small:1"]); // it finished first
    else expect(snapshot(store)).toEqual(before);
    ok(store, "gc");
    expect(readdirSync(staging)).toEqual([]);
  });
});

describe("interop with umoci and skopeo", () => {
  test("umoci's image in; skopeo and umoci read bunc's store; skopeo's docker-archive in", async () => {
    const w = workDir();
    const store = join(w, "store");
    const src = join(w, "src");
    mkdirSync(src);
    writeFileSync(join(src, "hello"), "from umoci\n");
    const layout = join(w, "umoci");
    tool("umoci", "init", "--layout", layout);
    tool("umoci", "new", "--image", `${layout}:t`);
    tool("umoci", "insert", "--image", `${layout}:t`, src, "/x");
    const imported = ok(store, "import", `oci:${layout}:t`, "from-umoci:1").trim().split(" ")[1]!;
    const umociManifest = indexOf(layout).manifests.find((m) => m.annotations?.[REF_NAME] === "t")!.digest;
    expect(imported).toBe(umociManifest);

    const inspected = JSON.parse(tool("skopeo", "inspect", `oci:${store}:from-umoci:1`));
    expect(inspected.Digest).toBe(imported);
    tool("skopeo", "copy", "--quiet", `oci:${store}:from-umoci:1`, `oci:${join(w, "other")}:x`);
    expect(indexOf(join(w, "other")).manifests[0]!.digest).toBe(imported);
    expect(tool("umoci", "ls", "--layout", store).trim().split("\n")).toEqual(["from-umoci:1"]);

    tool("skopeo", "copy", "--quiet", `oci:${layout}:t`, `docker-archive:${join(w, "d.tar")}:some/name:tag`);
    expect(ok(store, "import", `docker-archive:${join(w, "d.tar")}`)).toStartWith("some/name:tag sha256:");
    const fromDocker = JSON.parse(ok(store, "inspect", "some/name:tag"));
    expect(fromDocker.config.rootfs.diff_ids).toEqual(JSON.parse(ok(store, "inspect", "from-umoci:1")).config.rootfs.diff_ids);
    // skopeo reads the converted image back out of bunc's store too.
    expect(JSON.parse(tool("skopeo", "inspect", `oci:${store}:some/name:tag`)).Layers).toHaveLength(1);

    // skopeo writes into bunc's store; bunc lists it, reads it and gc keeps its blobs.
    tool("skopeo", "copy", "--quiet", `oci:${layout}:t`, `oci:${store}:by-skopeo:2`);
    expect(JSON.parse(ok(store, "images", "--format", "json")).map((i: { name: string }) => i.name)).toEqual(["by-skopeo:2", "from-umoci:1", "some/name:tag"]);
    ok(store, "rmi", "from-umoci:1", "some/name:tag");
    ok(store, "gc");
    expect(JSON.parse(ok(store, "inspect", "by-skopeo:2")).config.rootfs.diff_ids).toEqual(fromDocker.config.rootfs.diff_ids);
    expect(tool("skopeo", "inspect", `oci:${store}:by-skopeo:2`)).toContain("Digest");
  });
});
