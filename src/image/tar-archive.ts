// Reading a tar archive of an image (oci-archive:, docker-archive:) entry by entry with
// tar-stream, never extracting it: nothing in the archive ever names a path on this machine.
// One scan checks every entry name and records the entries; small regular files are kept in
// memory (documents are read from there), larger ones are read again by a new scan when a
// layer is opened. A truncated or malformed tar is an error that names the archive.
import { createReadStream, statSync } from "node:fs";
import tar from "tar-stream";
import { BuncError } from "../errors.ts";
import { streamFrom } from "./blob-source.ts";
import { verifyBytes } from "./digest.ts";
import { MAX_ARCHIVE_ENTRIES, MAX_DOCUMENT_BYTES } from "./limits.ts";

export interface TarEntryInfo {
  name: string;
  type: string;
  size: number;
  linkname?: string;
  /** sha256 of the content, when the scan was asked to hash. */
  sha256?: string;
  /** The first bytes of the content (compression magic). */
  head?: Uint8Array;
}

// What the scan keeps in memory at most, besides the entry list.
const CACHE_BUDGET = 64 * 1024 * 1024;
const HEAD_BYTES = 8;

/** An archive member name made canonical ("./a/b" → "a/b"), or an error for one that is unsafe. */
export function entryName(raw: string, label: string): string {
  const fail = (why: string) => new BuncError("image", `${label}: entry ${JSON.stringify(raw)}: ${why}`);
  if (raw.includes("\0")) throw fail("the name holds a NUL byte");
  if (raw.startsWith("/")) throw fail("absolute path");
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw fail('the name holds a ".." component');
  return parts.join("/");
}

type EntryStream = AsyncIterable<Uint8Array>;

/** Runs tar-stream over the file; calls `visit` for each entry until it returns true. */
async function walk(file: string, label: string, visit: (header: tar.Header, body: EntryStream) => Promise<boolean>): Promise<void> {
  const extract = tar.extract();
  const input = createReadStream(file);
  input.on("error", (err) => extract.destroy(err));
  input.pipe(extract);
  try {
    for await (const entry of extract) {
      if (await visit(entry.header, entry as unknown as EntryStream)) return;
    }
  } catch (err) {
    if (err instanceof BuncError) throw err;
    const msg = (err as Error).message;
    throw new BuncError("image", `${label}: ${/end of data/i.test(msg) ? "truncated archive" : "unreadable tar archive"}: ${msg}`);
  } finally {
    input.destroy();
    extract.destroy();
  }
}

export class TarArchive {
  private constructor(
    readonly file: string,
    readonly label: string,
    readonly entries: ReadonlyMap<string, TarEntryInfo>,
    private readonly cache: ReadonlyMap<string, Uint8Array>,
  ) {}

  /** Scan the archive once: names checked, entries recorded, small files kept, optionally hashed. */
  static async scan(file: string, label: string, opts: { hash: boolean }): Promise<TarArchive> {
    try {
      if (!statSync(file).isFile()) throw new BuncError("image", `${label}: ${file} is not a regular file`);
    } catch (err) {
      if (err instanceof BuncError) throw err;
      throw new BuncError("image", `${label}: cannot read ${file}: ${(err as Error).message}`);
    }
    const entries = new Map<string, TarEntryInfo>();
    const cache = new Map<string, Uint8Array>();
    let cached = 0;
    await walk(file, label, async (h, body) => {
      const name = entryName(h.name, label);
      const type: string = h.type ?? "file";
      if (type === "directory" || type === "pax-header" || type === "pax-global-header") {
        for await (const _ of body);
        return false;
      }
      if (entries.size >= MAX_ARCHIVE_ENTRIES) throw new BuncError("image", `${label}: more than ${MAX_ARCHIVE_ENTRIES} entries`);
      if (entries.has(name)) throw new BuncError("image", `${label}: entry ${JSON.stringify(name)} appears twice`);
      const info: TarEntryInfo = { name, type, size: h.size ?? 0 };
      if (h.linkname) info.linkname = h.linkname;
      entries.set(name, info);
      if (type !== "file" && type !== "contiguous-file") {
        for await (const _ of body);
        return false;
      }
      const keep = info.size <= MAX_DOCUMENT_BYTES && cached + info.size <= CACHE_BUDGET;
      const hasher = opts.hash ? new Bun.CryptoHasher("sha256") : undefined;
      const chunks: Uint8Array[] = [];
      let head = new Uint8Array(0);
      for await (const chunk of body) {
        hasher?.update(chunk);
        if (keep) chunks.push(chunk);
        if (head.length < HEAD_BYTES) head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES - head.length)]);
      }
      info.head = head;
      if (hasher) info.sha256 = `sha256:${hasher.digest("hex")}`;
      if (keep) {
        cache.set(name, Buffer.concat(chunks));
        cached += info.size;
      }
      return false;
    });
    return new TarArchive(file, label, entries, cache);
  }

  /** The regular file `name`, or an error that says what it is instead. */
  regularFile(name: string, what: string): TarEntryInfo {
    const e = this.entries.get(name);
    if (!e) throw new BuncError("image", `${what}: ${this.label} has no entry ${JSON.stringify(name)}`);
    if (e.type !== "file" && e.type !== "contiguous-file") {
      const link = e.linkname !== undefined ? ` to ${JSON.stringify(e.linkname)}` : "";
      throw new BuncError("image", `${what}: entry ${JSON.stringify(name)} in ${this.label} is a ${e.type}${link}, not a regular file; links are not followed`);
    }
    return e;
  }

  /** A small regular file's content, at most `cap` bytes. */
  async read(name: string, cap: number, what: string): Promise<Uint8Array> {
    const e = this.regularFile(name, what);
    if (e.size > cap) throw new BuncError("image", `${what}: entry ${JSON.stringify(name)} is ${e.size} bytes, more than the limit of ${cap}`);
    const hit = this.cache.get(name);
    if (hit) return hit;
    const chunks: Uint8Array[] = [];
    for await (const c of this.chunks(name)) chunks.push(c);
    return Buffer.concat(chunks);
  }

  /** A small regular file checked against a digest and size. */
  async readVerified(name: string, digest: string, size: number, cap: number, what: string): Promise<Uint8Array> {
    const bytes = await this.read(name, cap, what);
    verifyBytes(bytes, digest, size, what);
    return bytes;
  }

  /** A regular file's content as a stream, by a new scan of the archive. */
  open(name: string, what: string): ReadableStream<Uint8Array> {
    return streamFrom(() => this.chunks(name, what)[Symbol.asyncIterator]());
  }

  private async *chunks(name: string, what = `${this.label}: ${name}`): AsyncGenerator<Uint8Array> {
    this.regularFile(name, what);
    const extract = tar.extract();
    const input = createReadStream(this.file);
    input.on("error", (err) => extract.destroy(err));
    input.pipe(extract);
    try {
      for await (const entry of extract) {
        if (entryName(entry.header.name, this.label) !== name) continue;
        for await (const chunk of entry as unknown as EntryStream) yield chunk;
        return;
      }
      throw new BuncError("image", `${what}: entry ${JSON.stringify(name)} is gone from ${this.label}`);
    } catch (err) {
      if (err instanceof BuncError) throw err;
      throw new BuncError("image", `${what}: reading ${this.label}: ${(err as Error).message}`);
    } finally {
      input.destroy();
      extract.destroy();
    }
  }
}
