// Reading and untagging the store's names, for `bunc images` and `bunc rmi`.
import { BuncError } from "../errors.ts";
import { REF_NAME_ANNOTATION, type Descriptor } from "../spec/image-manifest.ts";
import { formatImageName, parseImageName } from "./reference.ts";
import { ImageStore } from "./store.ts";
import { reach } from "./store-walk.ts";

export interface StoredImage {
  name: string;
  digest: string;
  mediaType: string;
  /** Bytes of every blob the name reaches; undefined when a blob cannot be read. */
  size?: number;
  created?: string;
}

export async function listImages(storeDir: string): Promise<StoredImage[]> {
  const store = new ImageStore(storeDir);
  const out: StoredImage[] = [];
  for (const d of store.readIndex().manifests) {
    const name = d.annotations?.[REF_NAME_ANNOTATION];
    if (name === undefined) continue;
    const item: StoredImage = { name, digest: d.digest, mediaType: d.mediaType };
    try {
      const r = await reach(store, d);
      item.size = [...r.blobs.values()].reduce((a, b) => a + b, 0);
      if (r.created !== undefined) item.created = r.created;
    } catch {}
    out.push(item);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Untag NAME[:TAG] or NAME@DIGEST; an unknown name is an error. */
export async function removeImageName(storeDir: string, ref: string): Promise<string[]> {
  const name = parseImageName(ref);
  const store = new ImageStore(storeDir);
  const wanted = formatImageName(name);
  const match = (d: Descriptor) => {
    const n = d.annotations?.[REF_NAME_ANNOTATION];
    if (n === undefined) return false;
    if (name.digest === undefined) return n === wanted;
    try {
      return d.digest === name.digest && parseImageName(n).repository === name.repository;
    } catch {
      return false;
    }
  };
  const removed = await store.untag(match);
  if (removed.length === 0) throw new BuncError("not-found", `image ${JSON.stringify(wanted)} is not in the store ${storeDir}`);
  return removed;
}
