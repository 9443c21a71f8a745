import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, openSync, renameSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobTee, TeeRestartedError } from "./blob-tee.ts";

const dir = mkdtempSync(join(tmpdir(), "bunc-blob-tee-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const digestOf = (b: Uint8Array) => `sha256:${new Bun.CryptoHasher("sha256").update(b).digest("hex")}`;
let files = 0;

/** A blob of `size` bytes, its partial file (empty) and a tee with nothing located. */
function setup(size = 3000) {
  const blob = new Uint8Array(size).map((_, i) => i % 251);
  const desc = { mediaType: "application/octet-stream", digest: digestOf(blob), size };
  const path = join(dir, `partial-${++files}`);
  writeFileSync(path, "");
  return { blob, desc, path, tee: new BlobTee(() => undefined) };
}

/** Reads `stream` to its end; length() is what arrived so far. */
function collect(stream: ReadableStream<Uint8Array>) {
  const got: Uint8Array[] = [];
  const done = (async () => {
    for await (const c of stream) got.push(c);
    return new Uint8Array(Buffer.concat(got));
  })();
  return { done, length: () => got.reduce((n, c) => n + c.length, 0) };
}

const tick = () => Bun.sleep(5);

describe("BlobTee", () => {
  test("follows the partial as it grows and ends only once the blob is committed", async () => {
    const { blob, desc, path, tee } = setup();
    const reader = collect(tee.open(desc, "blob"));
    let ended = false;
    void reader.done.then(() => (ended = true));
    tee.opened(desc.digest, path, 0);
    appendFileSync(path, blob.subarray(0, 1000));
    tee.written(desc.digest, 1000);
    await tick();
    expect(reader.length()).toBe(1000);
    appendFileSync(path, blob.subarray(1000));
    tee.written(desc.digest, desc.size);
    await tick();
    expect(reader.length()).toBe(desc.size);
    expect(ended).toBe(false);
    tee.committed(desc.digest);
    expect(await reader.done).toEqual(blob);
    tee.close();
  });

  test("bytes there when the partial is opened (an earlier pull's) are read first", async () => {
    const { blob, desc, path, tee } = setup();
    writeFileSync(path, blob.subarray(0, 2000));
    tee.opened(desc.digest, path, 2000);
    const reader = collect(tee.open(desc, "blob"));
    appendFileSync(path, blob.subarray(2000));
    tee.written(desc.digest, desc.size);
    tee.committed(desc.digest);
    expect(await reader.done).toEqual(blob);
    tee.close();
  });

  test("a restart after bytes were read voids them; before any were read it does not", async () => {
    const early = setup();
    early.tee.opened(early.desc.digest, early.path, 0);
    early.tee.restarted(early.desc.digest);
    const fine = collect(early.tee.open(early.desc, "blob"));
    appendFileSync(early.path, early.blob);
    early.tee.written(early.desc.digest, early.desc.size);
    early.tee.committed(early.desc.digest);
    expect(await fine.done).toEqual(early.blob);
    expect(early.tee.voided).toBe(false);
    early.tee.close();

    const { blob, desc, path, tee } = setup();
    const reader = collect(tee.open(desc, "blob"));
    tee.opened(desc.digest, path, 0);
    appendFileSync(path, blob.subarray(0, 500));
    tee.written(desc.digest, 500);
    await tick();
    truncateSync(path, 0);
    tee.restarted(desc.digest);
    expect(tee.voided).toBe(true);
    await expect(reader.done).rejects.toBeInstanceOf(TeeRestartedError);
    tee.close();
  });

  test("a failed download fails its reader with its error; settled() waits for the blobs read", async () => {
    const { blob, desc, path, tee } = setup();
    const reader = collect(tee.open(desc, "blob"));
    tee.opened(desc.digest, path, 0);
    appendFileSync(path, blob.subarray(0, 100));
    tee.written(desc.digest, 100);
    await tick();
    let settled = false;
    void tee.settled().then(() => (settled = true));
    await tick();
    expect(settled).toBe(false);
    const mismatch = new Error("digest mismatch");
    tee.failed(desc.digest, mismatch);
    await expect(reader.done).rejects.toBe(mismatch);
    await tick();
    expect(settled).toBe(true);
    expect(tee.failure?.err).toBe(mismatch);
    tee.abort(new Error("later"));
    expect(tee.failure?.err).toBe(mismatch);
    tee.close();
  });

  test("abort() fails a reader still waiting for its download to start", async () => {
    const { desc, tee } = setup();
    const reader = collect(tee.open(desc, "blob"));
    await tick();
    tee.abort(new Error("stopped"));
    await expect(reader.done).rejects.toThrow("stopped");
  });

  test("a blob the sink had before is read from its file and checked against its digest", async () => {
    const { blob, desc } = setup();
    const path = join(dir, `stored-${++files}`);
    writeFileSync(path, blob);
    const tee = new BlobTee(() => openSync(path, "r"));
    tee.committed(desc.digest);
    // Opened when committed: a rename afterwards (another pull's commit) does not matter.
    renameSync(path, `${path}-moved`);
    expect(await collect(tee.open(desc, "layer 1")).done).toEqual(blob);
    tee.close();
    writeFileSync(path, bytes(desc.size, 7));
    const bad = new BlobTee(() => openSync(path, "r"));
    bad.committed(desc.digest);
    await expect(collect(bad.open(desc, "layer 1")).done).rejects.toThrow(`layer 1: digest mismatch: content is ${digestOf(bytes(desc.size, 7))}, expected ${desc.digest}`);
    bad.close();
    const missing = new BlobTee(() => undefined);
    missing.committed(desc.digest);
    await expect(collect(missing.open(desc, "layer 1")).done).rejects.toThrow("layer 1: not found where the pull left it");
  });
});
