// `bunc import SRC [NAME]`: copy an image from any source into the store under a name.
// Everything is read and checked in a staging area first; the store changes only at the
// commit (blob renames and one index.json replace, under the store lock).
import { BuncError } from "../errors.ts";
import type { Descriptor } from "../spec/image-manifest.ts";
import { openImage, type ResolvedImage } from "./resolve.ts";
import type { Platform } from "./platform.ts";
import { formatImageName, parseImageName } from "./reference.ts";
import { ImageStore } from "./store.ts";

export interface ImportOptions {
  store: string;
  /** Name to store under; the source's own name when absent. */
  name?: string;
  platform?: Platform;
}

export interface ImportResult {
  name: string;
  manifestDigest: string;
  /** Blobs that were not in the store before. */
  blobsAdded: number;
}

/** A store name: NAME[:TAG] with :latest filled in; a digest is refused. */
export function storeName(text: string): string {
  const n = parseImageName(text);
  if (n.digest !== undefined) throw new BuncError("usage", `cannot store an image as ${JSON.stringify(text)}: a store name has a tag, not a digest`);
  return formatImageName(n);
}

/** Stage and commit an opened image under `name`. */
export async function storeImage(store: ImageStore, image: ResolvedImage, name: string): Promise<ImportResult> {
  const staging = store.newStaging();
  try {
    for (const [i, layer] of image.layers.entries()) {
      if (store.hasBlob(layer)) continue;
      const d: Descriptor = { mediaType: layer.mediaType, digest: layer.digest, size: layer.size };
      await staging.addStream(d, layer.open(), `layer ${i} ${layer.digest} of ${image.reference}`);
    }
    const config = { digest: image.configDigest, size: image.configBytes.length };
    if (!store.hasBlob(config)) staging.addBytes(image.configDigest, image.configBytes);
    const manifest = { digest: image.manifestDigest, size: image.manifestBytes.length };
    if (!store.hasBlob(manifest)) staging.addBytes(image.manifestDigest, image.manifestBytes);
    const descriptor: Descriptor = { mediaType: image.manifestMediaType, digest: image.manifestDigest, size: image.manifestBytes.length, platform: { ...image.platform } };
    const { blobsAdded } = await store.commit(staging, name, descriptor);
    return { name, manifestDigest: image.manifestDigest, blobsAdded };
  } finally {
    staging.dispose();
  }
}

export async function importImage(source: string, opts: ImportOptions): Promise<ImportResult> {
  const store = new ImageStore(opts.store);
  // Check the target name before reading anything.
  const given = opts.name === undefined ? undefined : storeName(opts.name);
  const image: ResolvedImage = await openImage(source, opts.platform ? { store: opts.store, platform: opts.platform } : { store: opts.store });
  let name = given;
  if (name === undefined) {
    if (image.name === undefined) throw new BuncError("usage", `${source} carries no name: give one, as in "bunc import ${source} NAME:TAG"`);
    try {
      name = storeName(image.name);
    } catch (err) {
      throw new BuncError("usage", `${source}: its name ${JSON.stringify(image.name)} is not a valid store name (${(err as Error).message}); give one, as in "bunc import ${source} NAME:TAG"`);
    }
  }
  return storeImage(store, image, name);
}
