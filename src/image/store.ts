// bunc's image store: a plain OCI image layout (image-layout.md) so that skopeo and umoci
// read what bunc writes and the other way round:
//   oci-layout, index.json, blobs/<alg>/<hex>   as the spec has them
//   .bunc-tmp/                                  bunc's staging area (same filesystem)
// A tag is an index.json entry with the annotation org.opencontainers.image.ref.name set to
// the full name ("busybox:latest"), as skopeo writes for oci:DIR:NAME.
//
// Writing: blobs go to a staging directory in .bunc-tmp while they are hashed, are checked
// for digest and size, and only when the whole image checked out are they renamed to their
// final names and index.json replaced (temp file + rename), under the store lock. A failed
// import so leaves no blob under a final name and index.json as it was; a crash leaves only
// staging files, which gc removes. Two writers of the same blob each rename a complete copy
// of the same bytes: the last rename wins, readers never see a partial file.
import { closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { BuncError } from "../errors.ts";
import { MEDIA_TYPE, REF_NAME_ANNOTATION, type Descriptor, type ImageIndex } from "../spec/image-manifest.ts";
import { blobPath, parseDigest, verifyingStream } from "./digest.ts";
import { EMPTY_INDEX, LayoutSource } from "./layout-source.ts";
import { lockDirectory, withDirectoryLock } from "./store-lock.ts";

export const TEMP_DIR = ".bunc-tmp";
const STAGING_PREFIX = "import-";
const INDEX_TEMP_PREFIX = "index-";

const randomSuffix = () => `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

/** Make renames into `dir` durable: a crash after this cannot undo them. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes all of `bytes` to `fd`, syncs them to disk and closes `fd`, whatever happens. */
function writeAllAndClose(fd: number, bytes: Uint8Array): void {
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Write a file whole and durably under a temp name, then rename it over `target`. */
export function writeFileAtomic(tempDir: string, prefix: string, target: string, bytes: Uint8Array): void {
  const temp = join(tempDir, `${prefix}${randomSuffix()}`);
  writeAllAndClose(openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644), bytes);
  try {
    renameSync(temp, target);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  fsyncDirectory(dirname(target));
}

export interface StagedBlob {
  digest: string;
  size: number;
  temp: string;
}

/**
 * One import's staging directory in .bunc-tmp, flocked for as long as it lives so that gc
 * can tell an abandoned one (lock free) from one in use.
 */
export class Staging {
  readonly dir: string;
  private readonly lockFd: number;
  readonly blobs: StagedBlob[] = [];

  constructor(readonly store: ImageStore) {
    this.dir = join(store.dir, TEMP_DIR, `${STAGING_PREFIX}${randomSuffix()}`);
    mkdirSync(this.dir, { mode: 0o700 });
    this.lockFd = lockDirectory(this.dir, "staging directory", 0);
  }

  private tempFile(): { path: string; fd: number } {
    const path = join(this.dir, `blob-${this.blobs.length}-${randomSuffix()}`);
    return { path, fd: openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644) };
  }

  /** Stage bytes already checked against `digest`. */
  addBytes(digest: string, bytes: Uint8Array): void {
    const { path, fd } = this.tempFile();
    writeAllAndClose(fd, bytes);
    this.blobs.push({ digest, size: bytes.length, temp: path });
  }

  /** Stage a stream, hashing it on the way; a wrong digest or size is an error naming `what`. */
  async addStream(d: Descriptor, source: ReadableStream<Uint8Array>, what: string): Promise<void> {
    const { path, fd } = this.tempFile();
    try {
      for await (const chunk of verifyingStream(source, d.digest, d.size, what)) {
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.blobs.push({ digest: d.digest, size: d.size, temp: path });
  }

  /** Give the staged blobs their final names. Call holding the store lock. */
  commitBlobs(): number {
    let added = 0;
    const touched = new Set<string>();
    for (const b of this.blobs) {
      const final = this.store.blobFile(b.digest);
      mkdirSync(dirname(final), { recursive: true });
      // Content-addressed: a file of the right size there already holds these bytes. One of
      // another size is damaged; the rename replaces it atomically.
      if (this.store.hasBlob(b)) continue;
      renameSync(b.temp, final);
      touched.add(dirname(final));
      added++;
    }
    // Blobs durable before index.json names them.
    for (const dir of touched) fsyncDirectory(dir);
    return added;
  }

  /** Remove the staging directory and what is left in it. */
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
    closeSync(this.lockFd);
  }
}

export class ImageStore {
  readonly layout: LayoutSource;
  constructor(readonly dir: string) {
    this.layout = new LayoutSource(dir, `store ${dir}`);
  }

  blobFile(digest: string): string {
    return join(this.dir, blobPath(parseDigest(digest, "blob")));
  }

  hasBlob(d: { digest: string; size: number }): boolean {
    try {
      const st = statSync(this.blobFile(d.digest));
      return st.isFile() && st.size === d.size;
    } catch {
      return false;
    }
  }

  isLayout(): boolean {
    return existsSync(join(this.dir, "oci-layout"));
  }

  /** index.json; an empty index when there is no store yet. */
  readIndex(): ImageIndex {
    if (!existsSync(this.dir) || (!this.isLayout() && readdirSync(this.dir).length === 0)) return EMPTY_INDEX;
    return this.layout.readIndex();
  }

  /** Make the store if it is not there: a directory, empty or an OCI layout already. */
  ensure(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (this.isLayout()) return;
    // Under the lock: another import may be making the layout right now.
    const fd = lockDirectory(this.dir, "store");
    try {
      if (this.isLayout()) return;
      const others = readdirSync(this.dir).filter((n) => n !== TEMP_DIR);
      if (others.length > 0) throw new BuncError("image", `store ${this.dir} is not empty and not an OCI image layout (no oci-layout file): refusing to use it`);
      const temp = join(this.dir, TEMP_DIR);
      mkdirSync(temp, { recursive: true, mode: 0o700 });
      mkdirSync(join(this.dir, "blobs", "sha256"), { recursive: true });
      writeFileAtomic(temp, INDEX_TEMP_PREFIX, join(this.dir, "index.json"), new TextEncoder().encode(JSON.stringify(EMPTY_INDEX)));
      // oci-layout last: its presence says the layout is complete.
      writeFileAtomic(temp, INDEX_TEMP_PREFIX, join(this.dir, "oci-layout"), new TextEncoder().encode(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
    } finally {
      closeSync(fd);
    }
  }

  /** Replace index.json. Call holding the store lock. */
  writeIndex(index: ImageIndex): void {
    const doc = { ...index, schemaVersion: 2, mediaType: index.mediaType ?? MEDIA_TYPE.ociIndex };
    writeFileAtomic(join(this.dir, TEMP_DIR), INDEX_TEMP_PREFIX, join(this.dir, "index.json"), new TextEncoder().encode(JSON.stringify(doc)));
  }

  withLock<T>(fn: () => T | Promise<T>): Promise<T> {
    return withDirectoryLock(this.dir, "store", fn);
  }

  newStaging(): Staging {
    this.ensure();
    // A layout another tool made has no staging area yet.
    mkdirSync(join(this.dir, TEMP_DIR), { recursive: true, mode: 0o700 });
    return new Staging(this);
  }

  /** Commit a staging area and point `name` at `manifest`, atomically for readers. */
  async commit(staging: Staging, name: string, manifest: Descriptor): Promise<{ blobsAdded: number }> {
    return this.withLock(() => {
      const blobsAdded = staging.commitBlobs();
      const index = this.layout.readIndex();
      const manifests = index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== name);
      manifests.push({ ...manifest, annotations: { ...manifest.annotations, [REF_NAME_ANNOTATION]: name } });
      this.writeIndex({ ...index, manifests });
      return { blobsAdded };
    });
  }

  /** Drop the index.json entries `match` selects; returns their names. */
  async untag(match: (d: Descriptor) => boolean): Promise<string[]> {
    if (!this.isLayout()) return [];
    return this.withLock(() => {
      const index = this.layout.readIndex();
      const removed = index.manifests.filter(match);
      if (removed.length > 0) this.writeIndex({ ...index, manifests: index.manifests.filter((d) => !match(d)) });
      return removed.map((d) => d.annotations?.[REF_NAME_ANNOTATION] ?? d.digest);
    });
  }
}

export const STAGING_DIR_PREFIX = STAGING_PREFIX;
export const INDEX_TEMP_FILE_PREFIX = INDEX_TEMP_PREFIX;
