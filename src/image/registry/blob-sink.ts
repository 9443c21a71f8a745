// Where downloaded blobs go. The downloader asks the sink whether it has a blob, writes into
// the partial file the sink names (which may already hold the first bytes from an earlier,
// interrupted pull: they are hashed again and the whole blob is checked at the end), and
// hands the sink a verified partial to move into place.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync } from "node:fs";
import { join } from "node:path";
import { checkDigest, digestAlgorithm, digestHex } from "./digest.ts";

export interface BlobSink {
  has(digest: string): Promise<boolean>;
  /** Where the partial download of `digest` lives; the file may exist with bytes from before. */
  partialPath(digest: string): string;
  /** The partial is complete and verified (digest and size): move it into place. Called with the partial still locked. */
  commit(digest: string, size: number, partialPath: string): Promise<void>;
}

/**
 * Blobs under DIR/blobs/ALG/HEX as an OCI image layout keeps them; partials in a temp area
 * (default DIR/.partial, on the same filesystem so a commit is a rename).
 */
export class DirectoryBlobSink implements BlobSink {
  readonly tempDir: string;

  constructor(
    readonly dir: string,
    opts: { tempDir?: string } = {},
  ) {
    this.tempDir = opts.tempDir ?? join(dir, ".partial");
  }

  blobPath(digest: string): string {
    checkDigest(digest, "blob");
    return join(this.dir, "blobs", digestAlgorithm(digest), digestHex(digest));
  }

  async has(digest: string): Promise<boolean> {
    return existsSync(this.blobPath(digest));
  }

  partialPath(digest: string): string {
    checkDigest(digest, "blob");
    mkdirSync(this.tempDir, { recursive: true, mode: 0o700 });
    return join(this.tempDir, `${digestAlgorithm(digest)}-${digestHex(digest)}`);
  }

  async commit(digest: string, _size: number, partialPath: string): Promise<void> {
    const target = this.blobPath(digest);
    mkdirSync(join(this.dir, "blobs", digestAlgorithm(digest)), { recursive: true });
    const fd = openSync(partialPath, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(partialPath, target);
  }
}
