// Where a registry pull puts blobs in bunc's store. A blob is downloaded into
// .bunc-tmp/partial-ALG-HEX (shared by every pull of it, so a pull that was killed is
// resumed by the next one; the downloader flocks the partial while it writes), and once
// verified renamed to .bunc-tmp/complete-ALG-HEX. Nothing lands under blobs/ until the whole
// image is there: the pull then moves the complete files in and updates index.json in one
// commit under the store lock (store.ts), so a failed pull leaves the store as it was, and
// the complete files of a killed pull are reused by the next one. gc removes these files
// only while no pull or import is running (store-gc.ts).
import { closeSync, constants, fsyncSync, mkdirSync, openSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import type { BlobSink } from "./registry/blob-sink.ts";
import { parseDigest } from "./digest.ts";
import { fsyncDirectory, TEMP_DIR, type ImageStore } from "./store.ts";

export const PARTIAL_PREFIX = "partial-";
export const COMPLETE_PREFIX = "complete-";

export class StoreBlobSink implements BlobSink {
  private readonly tempDir: string;
  /** Sizes the manifest gives, so a file of another size never counts as the blob. */
  private readonly sizes = new Map<string, number>();

  constructor(readonly store: ImageStore) {
    this.tempDir = join(store.dir, TEMP_DIR);
  }

  expect(digest: string, size: number): void {
    this.sizes.set(digest, size);
  }

  private tempName(prefix: string, digest: string): string {
    const d = parseDigest(digest, "blob");
    return join(this.tempDir, `${prefix}${d.algorithm}-${d.hex}`);
  }

  /** The verified download of `digest` waiting for the commit. */
  completePath(digest: string): string {
    return this.tempName(COMPLETE_PREFIX, digest);
  }

  private hasFile(path: string, size: number | undefined): boolean {
    try {
      const st = statSync(path);
      return st.isFile() && (size === undefined || st.size === size);
    } catch {
      return false;
    }
  }

  /** In the store already, or downloaded and verified by this or an earlier pull. */
  async has(digest: string): Promise<boolean> {
    const size = this.sizes.get(digest);
    parseDigest(digest, "blob");
    if (size !== undefined ? this.store.hasBlob({ digest, size }) : this.hasFile(this.store.blobFile(digest), undefined)) return true;
    return this.hasFile(this.completePath(digest), size);
  }

  inStore(digest: string, size: number): boolean {
    return this.store.hasBlob({ digest, size });
  }

  partialPath(digest: string): string {
    mkdirSync(this.tempDir, { recursive: true, mode: 0o700 });
    return this.tempName(PARTIAL_PREFIX, digest);
  }

  async commit(digest: string, _size: number, partialPath: string): Promise<void> {
    const fd = openSync(partialPath, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(partialPath, this.completePath(digest));
    fsyncDirectory(this.tempDir);
  }
}
