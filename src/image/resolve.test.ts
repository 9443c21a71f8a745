import { afterAll, describe, expect, test } from "bun:test";
import { rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { blobsOf, dockerArchiveEntries, makeImage, makeIndex, OCI_INDEX, OCI_MANIFEST, tarBytes, tempDir, treeEntries, writeLayout, type Blob } from "../../spec-tests/support/images.ts";
import { verifyingStream } from "./digest.ts";
import { openImage } from "./resolve.ts";

const dirs: string[] = [];
const dir = () => {
  const d = tempDir("resolve");
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const store = "/nonexistent-store";

async function readAll(s: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of s) n += c.length;
  return n;
}

describe("openImage", () => {
  test("oci:DIR:REF gives manifest, config and openable layers", async () => {
    const img = await makeImage({ gzip: true });
    const d = join(dir(), "busybox");
    writeLayout(d, [{ descriptor: img.manifest.descriptor, name: "1.36" }], blobsOf(img));
    const r = await openImage(`oci:${d}:1.36`, { store });
    expect(r.name).toBe("busybox:1.36");
    expect(r.manifestDigest).toBe(img.manifest.descriptor.digest);
    expect(r.configDigest).toBe(img.config.descriptor.digest);
    expect(r.config.architecture).toBe("amd64");
    expect(r.layers).toHaveLength(1);
    const l = r.layers[0]!;
    expect(l.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    expect(await readAll(verifyingStream(l.open(), l.digest, l.size, "layer"))).toBe(l.size);
  });

  test("oci-archive and docker-archive give the same layers", async () => {
    const img = await makeImage();
    const base = dir();
    writeLayout(join(base, "L"), [{ descriptor: img.manifest.descriptor, name: "v1" }], blobsOf(img));
    writeFileSync(join(base, "a.tar"), await tarBytes(treeEntries(join(base, "L"))));
    const a = await openImage(`oci-archive:${join(base, "a.tar")}:v1`, { store });
    expect(a.manifestDigest).toBe(img.manifest.descriptor.digest);
    expect(await readAll(a.layers[0]!.open())).toBe(img.layers[0]!.bytes.length);
    writeFileSync(join(base, "d.tar"), await tarBytes(await dockerArchiveEntries([{ image: img, tags: ["foo:v2"], gzip: true }])));
    const d = await openImage(`docker-archive:${join(base, "d.tar")}`, { store });
    expect(d.name).toBe("foo:v2");
    expect(d.configDigest).toBe(img.config.descriptor.digest);
    expect(d.layers[0]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    expect(d.layers[0]!.diffId).toBe(a.layers[0]!.diffId);
    const l = d.layers[0]!;
    expect(await readAll(verifyingStream(l.open(), l.digest, l.size, "layer"))).toBe(l.size);
  });

  test("a name missing from the store names the pull that would get it", async () => {
    await expect(openImage("busybox:9", { store })).rejects.toThrow(/not in the store.*"bunc pull busybox:9"/);
  });
});

describe("platform selection", () => {
  async function multiArch(): Promise<{ d: string; digests: Record<string, string> }> {
    const plats = [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64", variant: "v8" },
      { os: "linux", architecture: "arm", variant: "v6" },
      { os: "linux", architecture: "arm", variant: "v8" },
    ];
    const blobs: Blob[] = [];
    const entries = [];
    const digests: Record<string, string> = {};
    for (const p of plats) {
      const img = await makeImage({ ...p, files: { arch: `${p.architecture}${p.variant ?? ""}` } });
      blobs.push(...blobsOf(img));
      entries.push({ descriptor: img.manifest.descriptor, platform: p });
      digests[`${p.architecture}${p.variant ?? ""}`] = img.manifest.descriptor.digest;
    }
    // The index nests: top → inner index → manifests.
    const inner = makeIndex(entries);
    const top = makeIndex([{ descriptor: inner.descriptor }]);
    const d = join(dir(), "multi");
    writeLayout(d, [{ descriptor: top.descriptor, name: "m" }], [...blobs, inner, top]);
    return { d, digests };
  }

  test("picks by platform, through a nested index, with ARM fallback", async () => {
    const { d, digests } = await multiArch();
    const pick = async (os: string, architecture: string, variant?: string) =>
      (await openImage(`oci:${d}:m`, { store, platform: variant ? { os, architecture, variant } : { os, architecture } })).manifestDigest;
    expect(await pick("linux", "amd64")).toBe(digests.amd64!);
    expect(await pick("linux", "arm64")).toBe(digests.arm64v8!);
    expect(await pick("linux", "arm", "v7")).toBe(digests.armv6!); // v7 takes v6, not v8
    expect(await pick("linux", "arm", "v8")).toBe(digests.armv8!);
    await expect(pick("linux", "arm", "v5")).rejects.toThrow(/no image for platform linux\/arm\/v5; it has linux\/amd64, linux\/arm64\/v8, linux\/arm\/v6, linux\/arm\/v8/);
    await expect(pick("linux", "s390x")).rejects.toThrow(/no image for platform linux\/s390x/);
  });

  test("indexes nested too deep are refused", async () => {
    const img = await makeImage();
    let top = makeIndex([{ descriptor: img.manifest.descriptor, platform: { os: "linux", architecture: "amd64" } }]);
    const blobs: Blob[] = [...blobsOf(img), top];
    for (let i = 0; i < 6; i++) {
      top = makeIndex([{ descriptor: top.descriptor }]);
      blobs.push(top);
    }
    const d = join(dir(), "deep");
    writeLayout(d, [{ descriptor: top.descriptor, name: "x" }], blobs);
    await expect(openImage(`oci:${d}:x`, { store })).rejects.toThrow(/nest deeper than 4/);
  });
});

describe("contradicting documents are refused", () => {
  test("a manifest with manifests, an index with layers, a mediaType field that disagrees", async () => {
    const img = await makeImage({ manifestExtra: { manifests: [] } });
    const d1 = join(dir(), "a");
    writeLayout(d1, [{ descriptor: img.manifest.descriptor, name: "x" }], blobsOf(img));
    await expect(openImage(`oci:${d1}:x`, { store })).rejects.toThrow(/has "manifests" as an index does/);

    const good = await makeImage();
    const idx = makeIndex([{ descriptor: good.manifest.descriptor }], { layers: [] });
    const d2 = join(dir(), "b");
    writeLayout(d2, [{ descriptor: idx.descriptor, name: "x" }], [...blobsOf(good), idx]);
    await expect(openImage(`oci:${d2}:x`, { store })).rejects.toThrow(/has "layers" as a manifest does/);

    const liar = await makeImage({ manifestExtra: { mediaType: OCI_INDEX } });
    const d3 = join(dir(), "c");
    writeLayout(d3, [{ descriptor: { ...liar.manifest.descriptor, mediaType: OCI_MANIFEST }, name: "x" }], blobsOf(liar));
    await expect(openImage(`oci:${d3}:x`, { store })).rejects.toThrow(/mediaType field .* contradicts/);
  });

  test("digests with path characters, wrong sizes and wrong digests", async () => {
    const img = await makeImage();
    const d = join(dir(), "h");
    writeLayout(d, [{ descriptor: { ...img.manifest.descriptor, digest: "sha256:../../../../etc/passwd" }, name: "x" }], blobsOf(img));
    await expect(openImage(`oci:${d}:x`, { store })).rejects.toThrow(/invalid digest "sha256:..\/..\/..\/..\/etc\/passwd"/);
    writeLayout(d, [{ descriptor: { ...img.manifest.descriptor, size: img.manifest.descriptor.size + 1 }, name: "x" }], blobsOf(img));
    await expect(openImage(`oci:${d}:x`, { store })).rejects.toThrow(/descriptor says/);
    const other = await makeImage({ files: { other: "x" } });
    writeLayout(d, [{ descriptor: { ...img.manifest.descriptor, digest: other.manifest.descriptor.digest }, name: "x" }], [...blobsOf(img), { ...img.manifest, descriptor: other.manifest.descriptor }]);
    await expect(openImage(`oci:${d}:x`, { store })).rejects.toThrow(/manifest sha256:[0-9a-f]+: (digest mismatch|size is)/);
  });

  test("documents over the size cap are refused unread", async () => {
    const img = await makeImage();
    const d = join(dir(), "big");
    const big = { ...img.manifest, bytes: new Uint8Array(5 * 1024 * 1024) };
    writeLayout(d, [{ descriptor: { ...img.manifest.descriptor, size: big.bytes.length }, name: "x" }], [...blobsOf(img).slice(1), big]);
    await expect(openImage(`oci:${d}:x`, { store })).rejects.toThrow(/more than the limit of 4194304/);
  });

  test("a blob that is a FIFO or a symlink, and an oversized index.json, are refused without hanging", async () => {
    const img = await makeImage();
    const d = join(dir(), "fifo");
    writeLayout(d, [{ descriptor: img.manifest.descriptor, name: "x" }], blobsOf(img).slice(1));
    const manifestFile = join(d, "blobs/sha256", img.manifest.descriptor.digest.slice(7));
    expect(Bun.spawnSync(["mkfifo", manifestFile]).exitCode).toBe(0);
    await expect(openImage(`oci:${d}:x`, { store })).rejects.toThrow(/is not a regular file/);
    rmSync(manifestFile);
    symlinkSync("/etc/passwd", manifestFile);
    await expect(openImage(`oci:${d}:x`, { store })).rejects.toThrow(/is a symbolic link/);
    writeFileSync(join(d, "index.json"), " ".repeat(4 * 1024 * 1024 + 1));
    await expect(openImage(`oci:${d}:x`, { store })).rejects.toThrow(/index\.json: .* is 4194305 bytes, more than the limit of 4194304/);
  });
});
