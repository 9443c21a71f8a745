// Pulling from the real CNCF distribution registry on loopback: images built here as an OCI
// layout (gzip and zstd layers, a multi-platform index), pushed with skopeo, pulled with
// bunc's client into an OCI-layout blob directory and compared byte for byte.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestRegistry, pushLayout, startRegistry } from "./support/registry.ts";
import { type Blob, type TestImage, image, index, layer, noise, sha256, writeLayout } from "./support/registry-images.ts";
import { pullBlobs, pullManifest } from "../src/image/registry/pull.ts";
import { RegistrySession } from "../src/image/registry/session.ts";
import { DirectoryBlobSink } from "../src/image/registry/blob-sink.ts";
import { findCredentials } from "../src/image/registry/credentials.ts";
import type { BlobProgress } from "../src/image/registry/blob-download.ts";

const FAST_RETRY = { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 };
const anonymous = () => new RegistrySession({ credentials: async () => undefined, retry: FAST_RETRY });

let work: string;
let registry: TestRegistry;
let secured: TestRegistry;
let single: TestImage;
let amd64: TestImage;
let arm64: TestImage;
let multi: Blob;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "bunc-registry-pull-"));
  // One after the other, so afterAll can stop whichever started if the other fails.
  registry = await startRegistry();
  secured = await startRegistry({ user: "alice", password: "s3cret" });
  const big = await layer({ "data/noise.bin": noise(3 * 1024 * 1024 + 17) }, "gzip");
  const small = await layer({ "etc/hello": "hello from zstd\n", "bin/tool": noise(40_000) }, "zstd");
  single = image([big, small]);
  amd64 = image([await layer({ "arch": "amd64\n" }, "gzip")], { architecture: "amd64", os: "linux" });
  arm64 = image([await layer({ "arch": "arm64\n" }, "zstd")], { architecture: "arm64", os: "linux" });
  multi = index([
    { image: amd64, platform: { architecture: "amd64", os: "linux" } },
    { image: arm64, platform: { architecture: "arm64", os: "linux", variant: "v8" } },
  ]);
  const layout = join(work, "layout");
  const all = [single, amd64, arm64].flatMap((i) => [i.config, i.manifest, ...i.layers]);
  writeLayout(layout, [...all, multi], { v1: single.manifest, multi });
  pushLayout(layout, "v1", registry, "test/app");
  pushLayout(layout, "multi", registry, "test/multi", { all: true });
  pushLayout(layout, "v1", secured, "private/app", { creds: "alice:s3cret" });
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.stop(), secured?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

function sinkDir(): string {
  return mkdtempSync(join(work, "sink-"));
}

function expectStored(dir: string, blobs: Blob[]): void {
  for (const b of blobs) {
    const bytes = readFileSync(join(dir, "blobs", "sha256", b.digest.slice(7)));
    expect(sha256(bytes)).toBe(b.digest);
    expect(Buffer.compare(bytes, Buffer.from(b.bytes))).toBe(0);
  }
  // Nothing left half-written.
  expect(readdirSync(join(dir, ".partial"))).toEqual([]);
}

describe("pull from the distribution registry", () => {
  test("a tagged image: manifest, config, a gzip and a zstd layer, with progress", async () => {
    const session = anonymous();
    const ref = `${registry.host}/test/app:v1`;
    const pulled = await pullManifest(ref, { session });
    expect(pulled.manifestDigest).toBe(single.manifest.digest);
    expect(pulled.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(Buffer.from(pulled.manifestBytes).equals(Buffer.from(single.manifest.bytes))).toBe(true);
    expect(pulled.index).toBeUndefined();
    expect(pulled.endpoint).toMatchObject({ apiHost: registry.host, repository: "test/app", insecure: true });

    const dir = sinkDir();
    const events: BlobProgress[] = [];
    await pullBlobs(ref, [pulled.manifest.config, ...pulled.manifest.layers], new DirectoryBlobSink(dir), { session, parallel: 2, onProgress: (p) => events.push(p) });
    expectStored(dir, [single.config, ...single.layers]);
    for (const b of [single.config, ...single.layers]) {
      const mine = events.filter((e) => e.digest === b.digest);
      expect(mine.at(-1)).toEqual({ digest: b.digest, received: b.size, total: b.size, done: true });
      expect(mine.filter((e) => e.done)).toHaveLength(1);
      const received = mine.map((e) => e.received);
      expect([...received].sort((x, y) => x - y)).toEqual(received);
    }
  });

  test("a blob the sink has is not fetched again", async () => {
    const session = anonymous();
    const dir = sinkDir();
    const sink = new DirectoryBlobSink(dir);
    const ref = `${registry.host}/test/app:v1`;
    await pullBlobs(ref, [single.config], sink, { session });
    // Replace the stored config by a marker: a second pull must leave it alone.
    writeFileSync(sink.blobPath(single.config.digest), "kept");
    const events: BlobProgress[] = [];
    await pullBlobs(ref, [single.config], sink, { session, onProgress: (p) => events.push(p) });
    expect(readFileSync(sink.blobPath(single.config.digest), "utf8")).toBe("kept");
    expect(events).toEqual([{ digest: single.config.digest, received: single.config.size, total: single.config.size, done: true }]);
  });

  test("a multi-platform index: choose picks arm64; by digest too", async () => {
    const session = anonymous();
    const ref = `docker://${registry.host}/test/multi:multi`;
    const seen: string[] = [];
    const pulled = await pullManifest(ref, {
      session,
      choose: (idx, digest) => {
        seen.push(digest);
        return idx.manifests.find((d) => d.platform?.architecture === "arm64")!;
      },
    });
    expect(seen).toEqual([multi.digest]);
    expect(pulled.index?.digest).toBe(multi.digest);
    expect(pulled.index?.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(pulled.index?.chosen.platform).toEqual({ architecture: "arm64", os: "linux", variant: "v8" });
    expect(pulled.manifestDigest).toBe(arm64.manifest.digest);
    const dir = sinkDir();
    await pullBlobs(ref, [pulled.manifest.config, ...pulled.manifest.layers], new DirectoryBlobSink(dir), { session });
    expectStored(dir, [arm64.config, ...arm64.layers]);

    const byDigest = await pullManifest(`${registry.host}/test/multi@${amd64.manifest.digest}`, { session });
    expect(byDigest.manifestDigest).toBe(amd64.manifest.digest);
    await expect(pullManifest(ref, { session })).rejects.toThrow(`is an index of 2 manifests (${multi.digest}): a platform must be chosen`);
  });

  test("a missing tag and a missing repository are errors naming them", async () => {
    const session = anonymous();
    await expect(pullManifest(`${registry.host}/test/app:nope`, { session })).rejects.toThrow(`manifest ${registry.host}/test/app:nope: not found: MANIFEST_UNKNOWN`);
    await expect(pullManifest(`${registry.host}/no/such:v1`, { session })).rejects.toThrow(`manifest ${registry.host}/no/such:v1: not found`);
  });

  test("htpasswd registry: credentials from a REGISTRY_AUTH_FILE; none is a 401", async () => {
    const authFile = join(work, "auth.json");
    writeFileSync(authFile, JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from("alice:s3cret").toString("base64") } } }));
    const env = { REGISTRY_AUTH_FILE: authFile, HOME: join(work, "nohome"), XDG_RUNTIME_DIR: join(work, "norun") };
    const session = new RegistrySession({ credentials: (reg, repo) => findCredentials(reg, repo, { env }), retry: FAST_RETRY });
    const ref = `${secured.host}/private/app:v1`;
    const pulled = await pullManifest(ref, { session });
    expect(pulled.manifestDigest).toBe(single.manifest.digest);
    const dir = sinkDir();
    await pullBlobs(ref, [pulled.manifest.config, ...pulled.manifest.layers], new DirectoryBlobSink(dir), { session });
    expectStored(dir, [single.config, ...single.layers]);

    await expect(pullManifest(ref, { session: anonymous() })).rejects.toThrow("401 unauthorized");
    const wrong = new RegistrySession({ credentials: async () => ({ username: "alice", password: "wrong" }), retry: FAST_RETRY });
    await expect(pullManifest(ref, { session: wrong })).rejects.toThrow("401 unauthorized with the credentials given");
    expect(existsSync(join(dir, ".partial"))).toBe(true);
  });
});
