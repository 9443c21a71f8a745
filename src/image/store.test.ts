import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { blobsOf, makeImage, tempDir, writeLayout } from "../../spec-tests/support/images.ts";
import { storeImage } from "./import.ts";
import { openImage } from "./resolve.ts";
import { collectGarbage } from "./store-gc.ts";
import { lockDirectory } from "./store-lock.ts";
import { ImageStore } from "./store.ts";

const dirs: string[] = [];
const dir = () => {
  const d = tempDir("store");
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("ImageStore", () => {
  test("is made on first use as an empty OCI layout", () => {
    const s = new ImageStore(join(dir(), "s"));
    expect(s.readIndex().manifests).toEqual([]);
    s.ensure();
    expect(JSON.parse(readFileSync(join(s.dir, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
    expect(JSON.parse(readFileSync(join(s.dir, "index.json"), "utf8"))).toEqual({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] });
  });

  test("refuses a directory that holds something else", () => {
    const d = dir();
    writeFileSync(join(d, "precious"), "x");
    expect(() => new ImageStore(d).ensure()).toThrow(/is not empty and not an OCI image layout/);
    expect(readdirSync(d)).toEqual(["precious"]);
  });

  test("the lock is exclusive and its wait bounded", () => {
    const d = dir();
    const fd = lockDirectory(d, "store");
    try {
      expect(() => lockDirectory(d, "store", 50)).toThrow(/is locked by another process/);
    } finally {
      closeSync(fd);
    }
    closeSync(lockDirectory(d, "store", 50));
  });

  test("a failed import leaves no blob under its final name; a good one lands whole", async () => {
    const d = dir();
    const img = await makeImage();
    writeLayout(join(d, "L"), [{ descriptor: img.manifest.descriptor, name: "1" }], blobsOf(img));
    const store = new ImageStore(join(d, "s"));
    const image = await openImage(`oci:${join(d, "L")}:1`, { store: store.dir });
    const broken = { ...image, layers: image.layers.map((l) => ({ ...l, open: () => new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new Uint8Array(3)), c.close()) }) })) };
    await expect(storeImage(store, broken, "x:1")).rejects.toThrow(/layer 0 .* ended after 3 bytes/);
    expect(readdirSync(join(store.dir, "blobs/sha256"))).toEqual([]);
    expect(readdirSync(join(store.dir, ".bunc-tmp"))).toEqual([]);
    expect(store.readIndex().manifests).toEqual([]);

    expect(await storeImage(store, image, "x:1")).toEqual({ name: "x:1", manifestDigest: img.manifest.descriptor.digest, blobsAdded: 3 });
    expect(await storeImage(store, image, "y:1")).toEqual({ name: "y:1", manifestDigest: img.manifest.descriptor.digest, blobsAdded: 0 });
    const back = await openImage("x:1", { store: store.dir });
    expect(back.configDigest).toBe(img.config.descriptor.digest);
    expect(back.name).toBe("x:1");
    expect(await collectGarbage(store.dir)).toEqual({ blobsRemoved: 0, bytesFreed: 0, tempsRemoved: 0, treesRemoved: 0 });
    await store.untag(() => true);
    expect((await collectGarbage(store.dir)).blobsRemoved).toBe(3);
    expect(existsSync(join(store.dir, "oci-layout"))).toBe(true);
  });

  test("gc leaves a staging directory an import still holds", async () => {
    const d = dir();
    const store = new ImageStore(join(d, "s"));
    const staging = store.newStaging();
    staging.addBytes("sha256:" + "0".repeat(64), new Uint8Array(1));
    mkdirSync(join(store.dir, ".bunc-tmp", "import-abandoned"));
    expect((await collectGarbage(store.dir)).tempsRemoved).toBe(1);
    expect(existsSync(staging.dir)).toBe(true);
    staging.dispose();
    expect(readdirSync(join(store.dir, ".bunc-tmp"))).toEqual([]);
  });
});
