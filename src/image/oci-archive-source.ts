// oci-archive:FILE — a tar of an OCI image layout, read in place. Every member must be a
// plain file or directory: a symlink or hardlink anywhere in it is refused, as is any name
// with ".." or a leading "/" (checked by the scan).
import { BuncError } from "../errors.ts";
import { OciLayoutSchema, type Descriptor } from "../spec/image-manifest.ts";
import type { BlobSource, RootSelection } from "./blob-source.ts";
import { blobPath, parseDigest } from "./digest.ts";
import { checkShape, parseIndex, parseJson } from "./documents.ts";
import { selectByRefName } from "./layout-source.ts";
import { MAX_DOCUMENT_BYTES } from "./limits.ts";
import { TarArchive } from "./tar-archive.ts";

export class OciArchiveSource implements BlobSource {
  private constructor(
    readonly label: string,
    private readonly archive: TarArchive,
  ) {}

  static async open(file: string): Promise<OciArchiveSource> {
    const label = `oci-archive:${file}`;
    const archive = await TarArchive.scan(file, label, { hash: false });
    for (const e of archive.entries.values()) {
      if (e.type !== "file" && e.type !== "contiguous-file") {
        const link = e.linkname !== undefined ? ` to ${JSON.stringify(e.linkname)}` : "";
        throw new BuncError("image", `${label}: entry ${JSON.stringify(e.name)} is a ${e.type}${link}; an image layout holds only files and directories`);
      }
    }
    return new OciArchiveSource(label, archive);
  }

  async select(ref: string | undefined): Promise<RootSelection> {
    const layoutWhat = `${this.label}: oci-layout`;
    if (!this.archive.entries.has("oci-layout")) throw new BuncError("image", `${this.label}: not an OCI image layout archive (no oci-layout entry)`);
    checkShape(OciLayoutSchema, parseJson(await this.archive.read("oci-layout", MAX_DOCUMENT_BYTES, layoutWhat), layoutWhat), layoutWhat);
    const what = `${this.label}: index.json`;
    const index = parseIndex(await this.archive.read("index.json", MAX_DOCUMENT_BYTES, what), undefined, what);
    return selectByRefName(index.manifests, ref, this.label);
  }

  async readBlob(d: Descriptor, cap: number, what: string): Promise<Uint8Array> {
    if (d.size > cap) throw new BuncError("image", `${what}: ${d.size} bytes is more than the limit of ${cap}`);
    return this.archive.readVerified(blobPath(parseDigest(d.digest, what)), d.digest, d.size, cap, what);
  }

  openBlob(d: Descriptor): ReadableStream<Uint8Array> {
    const what = `${this.label}: blob ${d.digest}`;
    return this.archive.open(blobPath(parseDigest(d.digest, what)), what);
  }
}
