// Unpacked images kept in the store, one tree per chain ID:
//   <store>/.bunc-rootfs/<hex of the chain ID>/
// A tree is unpacked into a temp dir beside it (.unpack-*) and renamed into place, so a tree
// that is there is whole. Two runs that unpack the same chain at once both finish; the first
// rename wins and the other discards its copy. Containers never write to a tree: they get
// an overlay (or a copy) on top of it (container-rootfs.ts).
//
// Runs hold a shared flock on .bunc-rootfs from the lookup until their overlay is mounted;
// gc takes it exclusively, so it never removes a tree a run is about to mount, and any
// .unpack-* it sees then belongs to a run that died.
//
// An image that has to be pulled first is unpacked while it downloads: its layers stream
// into the unpacker as they land (pull-image.ts, registry/blob-tee.ts), in order, each
// ending only once its blob is verified; the later layers keep downloading meanwhile and are
// followed the same way when their turn comes, from their partial file, however far it got.
// A download that fails (a digest mismatch) stops the unpack, and its temp dir is removed
// like any failed unpack's. When a reader's bytes were made void by a download that started
// again, its temp dir is dropped and the tree is unpacked from the stored blobs instead.
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { LOCK_EX, LOCK_SH, tryFlock } from "../../../ffi/io.ts";
import { BuncError } from "../../errors.ts";
import { STORE_LOCK_TIMEOUT_MS } from "../limits.ts";
import { log } from "../../log.ts";
import type { PullingImage } from "../pull-image.ts";
import { openImage, type OpenImageOptions, type ResolvedImage } from "../resolve.ts";
import { unpackImage } from "../unpack-image.ts";
import { unpackLayers } from "../unpack/unpack-layers.ts";
import { chainId } from "./chain-id.ts";

export const ROOTFS_CACHE_DIR = ".bunc-rootfs";
const STAGING_PREFIX = ".unpack-";

export interface CachedRootfs {
  tree: string;
  /** Drops the shared lock: call once the tree is mounted or copied. */
  release(): void;
}

function openCache(store: string): { cache: string; fd: number } {
  const cache = join(store, ROOTFS_CACHE_DIR);
  mkdirSync(cache, { recursive: true, mode: 0o700 });
  return { cache, fd: openSync(cache, constants.O_RDONLY | constants.O_DIRECTORY) };
}

function lockShared(fd: number, cache: string): void {
  const deadline = Date.now() + STORE_LOCK_TIMEOUT_MS;
  while (!tryFlock(fd, LOCK_SH, cache)) {
    if (Date.now() > deadline) throw new BuncError("image", `${cache} is locked by gc for more than ${STORE_LOCK_TIMEOUT_MS / 1000} s`);
    Bun.sleepSync(20);
  }
}

const treeOf = (cache: string, diffIds: readonly string[]) => join(cache, chainId([...diffIds]).replace(/^sha256:/, ""));

/**
 * The image `ref` names (pulled when it must be, see openImage) and its unpacked tree,
 * unpacked now if no earlier run did (as it downloads when the image is pulled); the tree
 * is held until release().
 */
export async function openImageWithRootfs(ref: string, opts: OpenImageOptions): Promise<{ image: ResolvedImage; rootfs: CachedRootfs }> {
  // Locked once there is a store: a pull makes it only after the manifest is found.
  let held: { cache: string; fd: number } | undefined;
  const hold = () => {
    if (held) return held;
    const opened = openCache(opts.store);
    try {
      lockShared(opened.fd, opened.cache);
    } catch (err) {
      closeSync(opened.fd);
      throw err;
    }
    return (held = opened);
  };
  try {
    let streamed = false;
    const streamLayers = (pulling: PullingImage): Promise<void> | undefined => {
      const { cache } = hold();
      const tree = treeOf(cache, pulling.config.rootfs.diff_ids);
      if (existsSync(tree)) return undefined;
      log("debug", `${pulling.name}: unpacking the layers as they download`);
      streamed = true;
      return unpackInto(cache, tree, (staging) => unpackLayers(staging, pulling.layers, { onWarning: (msg) => log("warning", msg) }));
    };
    const image = await openImage(ref, { ...opts, streamLayers });
    const { cache, fd } = hold();
    const tree = treeOf(cache, image.layers.map((l) => l.diffId));
    if (!existsSync(tree)) {
      // Not streamed, or a layer's download started again after it was read (pull-image.ts).
      if (streamed) log("debug", `${image.reference}: the layers' bytes as they downloaded were voided; unpacking them from the store`);
      await unpackInto(cache, tree, (staging) => unpackImage(image, staging));
    }
    return { image, rootfs: { tree, release: () => closeSync(fd) } };
  } catch (err) {
    if (held) closeSync(held.fd);
    throw err;
  }
}

async function unpackInto(cache: string, tree: string, unpack: (staging: string) => Promise<unknown>): Promise<void> {
  const staging = mkdtempSync(join(cache, STAGING_PREFIX));
  try {
    await unpack(staging);
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
}

/** The lower dirs of the overlays mounted here (mountinfo's super options). */
function overlayLowerDirs(): Set<string> {
  const lowers = new Set<string>();
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const after = line.split(" - ")[1]?.split(" ");
    if (after?.[0] !== "overlay") continue;
    for (const opt of (after[2] ?? "").split(",")) {
      if (opt.startsWith("lowerdir=")) for (const dir of opt.slice(9).split(":")) lowers.add(dir);
    }
  }
  return lowers;
}

/**
 * gc's part: removes the trees of chains no stored image has (`keep`: chain IDs) that no
 * mounted overlay uses, and unpacks that died. Nothing when a run holds the cache.
 */
export function pruneRootfsCache(store: string, keep: ReadonlySet<string>): number {
  if (!existsSync(join(store, ROOTFS_CACHE_DIR))) return 0;
  const { cache, fd } = openCache(store);
  try {
    if (!tryFlock(fd, LOCK_EX, cache)) return 0;
    const lowers = overlayLowerDirs();
    let removed = 0;
    for (const name of readdirSync(cache)) {
      const path = join(cache, name);
      if (!name.startsWith(STAGING_PREFIX) && (keep.has(`sha256:${name}`) || lowers.has(path))) continue;
      rmSync(path, { recursive: true, force: true });
      removed++;
    }
    return removed;
  } finally {
    closeSync(fd);
  }
}
