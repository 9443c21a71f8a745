// An OCI image layout directory (image-layout.md) read as a blob source: oci:DIR, and bunc's
// store, which is such a layout. Blob paths are made only from digests checked against the
// grammar; blobs are opened with O_NOFOLLOW and read no further than their descriptor says.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { BuncError } from "../errors.ts";
import { MEDIA_TYPE, OciLayoutSchema, REF_NAME_ANNOTATION, type Descriptor, type ImageIndex } from "../spec/image-manifest.ts";
import type { BlobSource, RootSelection } from "./blob-source.ts";
import { streamFrom } from "./blob-source.ts";
import { blobPath, parseDigest, verifyBytes } from "./digest.ts";
import { checkShape, parseIndex, parseJson } from "./documents.ts";
import { MAX_DOCUMENT_BYTES } from "./limits.ts";

const CHUNK = 256 * 1024;

/** A whole small file, refused past `cap` bytes; undefined when it does not exist. */
export function readCappedFile(path: string, cap: number, what: string): Uint8Array | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted as a blob must not hang the open; it is refused below.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw new BuncError("image", `${what}: ${path} is a symbolic link`);
    throw new BuncError("image", `${what}: cannot open ${path}: ${(err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new BuncError("image", `${what}: ${path} is not a regular file`);
    if (st.size > cap) throw new BuncError("image", `${what}: ${path} is ${st.size} bytes, more than the limit of ${cap}`);
    const buf = new Uint8Array(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** Chunks of a file, opened without following a symlink. */
export async function* fileChunks(path: string, what: string): AsyncGenerator<Uint8Array> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new BuncError("image", `${what}: ${path} does not exist`);
    throw new BuncError("image", `${what}: cannot open ${path}: ${(err as Error).message}`);
  }
  try {
    if (!(await fh.stat()).isFile()) throw new BuncError("image", `${what}: ${path} is not a regular file`);
    for (;;) {
      const buf = new Uint8Array(CHUNK);
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

export const EMPTY_INDEX: ImageIndex = { schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: [] };

export class LayoutSource implements BlobSource {
  readonly label: string;
  constructor(
    readonly dir: string,
    label?: string,
  ) {
    this.label = label ?? `oci:${dir}`;
  }

  /** index.json, checked; a missing layout is an error naming the directory. */
  readIndex(): ImageIndex {
    const layout = readCappedFile(join(this.dir, "oci-layout"), MAX_DOCUMENT_BYTES, `${this.label}: oci-layout`);
    if (!layout) throw new BuncError("image", `${this.label}: ${this.dir} is not an OCI image layout (no oci-layout file)`);
    checkShape(OciLayoutSchema, parseJson(layout, `${this.label}: oci-layout`), `${this.label}: oci-layout`);
    const what = `${this.label}: index.json`;
    const bytes = readCappedFile(join(this.dir, "index.json"), MAX_DOCUMENT_BYTES, what);
    if (!bytes) throw new BuncError("image", `${what}: ${join(this.dir, "index.json")} does not exist`);
    return parseIndex(bytes, undefined, what);
  }

  async select(ref: string | undefined): Promise<RootSelection> {
    return selectByRefName(this.readIndex().manifests, ref, this.label);
  }

  blobFile(d: Descriptor, what: string): string {
    return join(this.dir, blobPath(parseDigest(d.digest, what)));
  }

  async readBlob(d: Descriptor, cap: number, what: string): Promise<Uint8Array> {
    if (d.size > cap) throw new BuncError("image", `${what}: ${d.size} bytes is more than the limit of ${cap}`);
    const path = this.blobFile(d, what);
    const bytes = readCappedFile(path, cap, what);
    if (!bytes) throw new BuncError("image", `${what}: blob ${d.digest} is missing from ${this.label}`);
    verifyBytes(bytes, d.digest, d.size, what);
    return bytes;
  }

  openBlob(d: Descriptor): ReadableStream<Uint8Array> {
    const what = `${this.label}: blob ${d.digest}`;
    const path = this.blobFile(d, what);
    return streamFrom(() => fileChunks(path, what));
  }
}

/**
 * image-layout.md: an index.json entry is named by its ref.name annotation. Several entries
 * may share a name (one per platform); without a ref, the layout must hold one image.
 */
export function selectByRefName(manifests: Descriptor[], ref: string | undefined, label: string): RootSelection {
  const nameOf = (d: Descriptor) => d.annotations?.[REF_NAME_ANNOTATION];
  if (ref !== undefined) {
    const candidates = manifests.filter((d) => nameOf(d) === ref);
    if (candidates.length === 0) {
      const names = [...new Set(manifests.map(nameOf).filter((n) => n !== undefined))];
      throw new BuncError("image", `${label}: no image named ${JSON.stringify(ref)}${names.length ? ` (it has ${names.map((n) => JSON.stringify(n)).join(", ")})` : " (it has no named images)"}`);
    }
    return { candidates, name: ref };
  }
  if (manifests.length === 0) throw new BuncError("image", `${label}: the layout holds no image`);
  const names = new Set(manifests.map(nameOf));
  if (names.size > 1) {
    const shown = [...names].map((n) => (n === undefined ? "(unnamed)" : JSON.stringify(n))).join(", ");
    throw new BuncError("image", `${label}: the layout holds several images (${shown}); name one after a colon`);
  }
  const name = nameOf(manifests[0]!);
  return name === undefined ? { candidates: manifests } : { candidates: manifests, name };
}
