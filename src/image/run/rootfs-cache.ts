// Unpacked images kept in the store, one tree per chain ID:
//   <store>/.bunc-rootfs/<hex of the chain ID>/
// A tree is unpacked into a temp dir beside it and renamed into place, so a tree that is
// there is whole. Two runs that unpack the same chain at once both finish; the first
// rename wins and the other discards its copy. Containers never write to a tree: they get
// an overlay (or a copy) on top of it (container-rootfs.ts).
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BuncError } from "../../errors.ts";
import type { ResolvedImage } from "../resolve.ts";
import { unpackImage } from "../unpack-image.ts";
import { chainId } from "./chain-id.ts";

export const ROOTFS_CACHE_DIR = ".bunc-rootfs";

/** The image's unpacked layers, unpacked now if no earlier run did. */
export async function cachedRootfs(store: string, image: ResolvedImage): Promise<string> {
  const chain = chainId(image.layers.map((l) => l.diffId));
  const cache = join(store, ROOTFS_CACHE_DIR);
  const tree = join(cache, chain.replace(/^sha256:/, ""));
  if (existsSync(tree)) return tree;
  mkdirSync(cache, { recursive: true, mode: 0o700 });
  const staging = mkdtempSync(join(cache, ".unpack-"));
  try {
    await unpackImage(image, staging);
    try {
      renameSync(staging, tree);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Another run got there first: its tree is the same.
      if ((code !== "ENOTEMPTY" && code !== "EEXIST") || !existsSync(tree)) {
        throw new BuncError("system", `cannot keep the unpacked image at ${tree}: ${(err as Error).message}`);
      }
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return tree;
}
