// What an index.json entry reaches: the manifest or index itself, then configs and layers
// through nested indexes. gc keeps what any entry reaches; `images` adds up its sizes.
import { BuncError } from "../errors.ts";
import type { Descriptor } from "../spec/image-manifest.ts";
import { kindOfMediaType, parseIndex, parseManifest, parseConfig } from "./documents.ts";
import { MAX_DOCUMENT_BYTES, MAX_INDEX_DEPTH } from "./limits.ts";
import { chainId } from "./run/chain-id.ts";
import type { ImageStore } from "./store.ts";

export interface Reach {
  /** Every blob reached, by digest, with its size. */
  blobs: Map<string, number>;
  /** The created time of the config, when exactly one config was reached. */
  created?: string;
  configs: number;
  /** When given, filled with the chain ID of every config reached (rootfs-cache.ts). */
  chains?: Set<string>;
}

/**
 * Walk from `root`. A missing manifest or index ends that branch (nothing can be learnt from
 * it); one that is there but unreadable is an error, as gc must not guess what it refers to.
 */
export async function reach(store: ImageStore, root: Descriptor, into?: Reach): Promise<Reach> {
  const r: Reach = into ?? { blobs: new Map(), configs: 0 };
  const visit = async (d: Descriptor, depth: number): Promise<void> => {
    if (r.blobs.has(d.digest)) return;
    r.blobs.set(d.digest, d.size);
    const kind = kindOfMediaType(d.mediaType);
    if (!kind || !store.hasBlob(d)) return;
    if (depth > MAX_INDEX_DEPTH) throw new BuncError("image", `store ${store.dir}: ${d.digest}: indexes nest deeper than ${MAX_INDEX_DEPTH}`);
    const what = `store ${store.dir}: ${kind} ${d.digest}`;
    const bytes = await store.layout.readBlob(d, MAX_DOCUMENT_BYTES, what);
    if (kind === "index") {
      for (const child of parseIndex(bytes, d.mediaType, what).manifests) await visit(child, depth + 1);
      return;
    }
    const m = parseManifest(bytes, d.mediaType, what);
    r.blobs.set(m.config.digest, m.config.size);
    r.configs++;
    for (const l of m.layers) r.blobs.set(l.digest, l.size);
    if (r.chains && store.hasBlob(m.config)) {
      try {
        const c = parseConfig(await store.layout.readBlob(m.config, MAX_DOCUMENT_BYTES, `config ${m.config.digest}`), "config");
        const diffIds = c.rootfs?.diff_ids ?? [];
        if (diffIds.length > 0) r.chains.add(chainId(diffIds));
      } catch {
        // A config that cannot be read keeps no unpacked tree: that is only a cache.
      }
    }
    if (r.configs === 1 && store.hasBlob(m.config)) {
      try {
        const c = parseConfig(await store.layout.readBlob(m.config, MAX_DOCUMENT_BYTES, `config ${m.config.digest}`), "config");
        if (typeof c.created === "string") r.created = c.created;
      } catch {}
    } else delete r.created;
  };
  await visit(root, 0);
  return r;
}
