// Unpacked images kept in the store, one tree per chain ID and id map:
//   <store>/.bunc-rootfs/<hex of the chain ID>/         unpacked by root: the image's owners
//   <store>/.bunc-rootfs/<hex>.<tag of the maps>/        unpacked by a user: owners for those
//                                                        maps (mapsTag), so a tree is never
//                                                        used with maps it was not made for
// A user with /etc/subuid and /etc/subgid ranges unpacks in a user namespace with its wide
// maps (mapped-storage.ts), the owners mapped into its sub-ids; an image with an owner those
// maps leave out is unpacked with only the user's own ids (owners in an xattr, as without
// ranges) and its wide name becomes a symlink to that tree, so later runs do not try again.
// A tree is unpacked into a temp dir beside it (.unpack-*) and renamed into place, so a tree
// that is there is whole. Two runs that unpack the same chain at once both finish; the first
// rename wins and the other discards its copy. Containers never write to a tree: they get
// an overlay (or a copy) on top of it (container-rootfs.ts).
//
// Runs hold a shared flock on .bunc-rootfs from the lookup until their overlay is mounted;
// gc takes it exclusively, so it never removes a tree a run is about to mount, and any
// .unpack-* it sees then belongs to a run that died.
//
// An image that root has to pull first is unpacked while it downloads: its layers stream
// into the unpacker as they land (pull-image.ts, registry/blob-tee.ts), in order, each
// ending only once its blob is verified; the later layers keep downloading meanwhile and are
// followed the same way when their turn comes, from their partial file, however far it got.
// A download that fails (a digest mismatch) stops the unpack, and its temp dir is removed
// like any failed unpack's. When a reader's bytes were made void by a download that started
// again, its temp dir is dropped and the tree is unpacked from the stored blobs instead.

import { closeSync, constants, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { LOCK_EX, LOCK_SH, tryFlock } from "../../../ffi/io.ts";
import { BuncError } from "../../errors.ts";
import { STORE_LOCK_TIMEOUT_MS } from "../limits.ts";
import { log } from "../../log.ts";
import { ownIdMaps, type IdMaps } from "../../linux/subids.ts";
import { mapText } from "../../linux/user-namespace.ts";
import type { PullingImage } from "../pull-image.ts";
import { openImage, type OpenImageOptions, type ResolvedImage } from "../resolve.ts";
import { unpackImage } from "../unpack-image.ts";
import { unpackLayers } from "../unpack/unpack-layers.ts";
import { chainId } from "./chain-id.ts";
import { removeTree, type MappedStorage, type TooNarrow } from "./mapped-storage.ts";

export const ROOTFS_CACHE_DIR = ".bunc-rootfs";
const STAGING_PREFIX = ".unpack-";

export interface CachedRootfs {
  tree: string;
  /** The tree's owners are the caller's sub-ids: run it with the storage's maps, copy it there. */
  mapped: boolean;
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

/** A short name for a pair of maps: the part of a tree's name after the chain. */
export function mapsTag(maps: IdMaps): string {
  return new Bun.CryptoHasher("sha256").update(`uid\n${mapText(maps.uidMappings)}gid\n${mapText(maps.gidMappings)}`).digest("hex").slice(0, 16);
}

export interface CacheOptions {
  /** Unpacking as a user without root. */
  rootless?: boolean;
  /** Rootless with sub-id ranges: unpack with these maps. */
  storage?: MappedStorage;
}

/**
 * The image `ref` names (pulled when it must be, see openImage) and its unpacked tree,
 * unpacked now if no earlier run did (as it downloads when root pulls the image); the tree
 * is held until release().
 */
export async function openImageWithRootfs(ref: string, opts: OpenImageOptions & CacheOptions): Promise<{ image: ResolvedImage; rootfs: CachedRootfs }> {
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
    // A user's trees depend on its maps (and the mapped unpack runs in a stage of its own):
    // those are unpacked from the store once the pull is done.
    const streamLayers = opts.rootless
      ? undefined
      : (pulling: PullingImage): Promise<void> | undefined => {
          const { cache } = hold();
          const tree = treeOf(cache, pulling.config.rootfs.diff_ids);
          if (existsSync(tree)) return undefined;
          log("debug", `${pulling.name}: unpacking the layers as they download`);
          streamed = true;
          return unpackInto(cache, tree, (staging) => unpackLayers(staging, pulling.layers, { onWarning: (msg) => log("warning", msg) }));
        };
    const image = await openImage(ref, { ...opts, ...(streamLayers && { streamLayers }) });
    const { cache, fd } = hold();
    const release = () => closeSync(fd);
    if (opts.rootless) return { image, rootfs: { ...(await userTree(cache, image, opts.storage)), release } };
    const tree = treeOf(cache, image.layers.map((l) => l.diffId));
    if (!existsSync(tree)) {
      // Not streamed, or a layer's download started again after it was read (pull-image.ts).
      if (streamed) log("debug", `${image.reference}: the layers' bytes as they downloaded were voided; unpacking them from the store`);
      await unpackInto(cache, tree, (staging) => unpackImage(image, staging));
    }
    return { image, rootfs: { tree, mapped: false, release } };
  } catch (err) {
    if (held) closeSync(held.fd);
    throw err;
  }
}

/** A user's tree: with its wide maps when it has them and they hold the image's owners. */
async function userTree(cache: string, image: ResolvedImage, storage: MappedStorage | undefined): Promise<{ tree: string; mapped: boolean }> {
  const hex = chainId(image.layers.map((l) => l.diffId)).replace(/^sha256:/, "");
  const ownTree = join(cache, `${hex}.${mapsTag(ownIdMaps(process.geteuid!(), process.getegid!()))}`);
  if (storage) {
    const wideTree = join(cache, `${hex}.${mapsTag(storage.maps)}`);
    const st = lstatSync(wideTree, { throwIfNoEntry: false });
    if (st?.isDirectory()) return { tree: wideTree, mapped: true };
    if (!st && storage.tryStart()) {
      const narrow = await unpackMapped(cache, wideTree, image, storage);
      if (!narrow) return { tree: wideTree, mapped: true };
      log("warning", tooNarrowWarning(narrow, storage.maps));
      try {
        symlinkSync(basename(ownTree), wideTree);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
    }
  }
  if (!existsSync(ownTree)) await unpackInto(cache, ownTree, (staging) => unpackImage(image, staging));
  return { tree: ownTree, mapped: false };
}

const lastId = (maps: IdMaps["uidMappings"]) => Math.max(...maps.map((m) => m.containerID + m.size - 1));

function tooNarrowWarning(narrow: TooNarrow, maps: IdMaps): string {
  return (
    `"${narrow.entry}" in the image belongs to ${narrow.uid}:${narrow.gid}, beyond your sub-id maps (container uids 0-${lastId(maps.uidMappings)}, gids 0-${lastId(maps.gidMappings)}): ` +
    `the image is unpacked with only your own ids mapped instead; widen your ranges in /etc/subuid and /etc/subgid to keep its owners`
  );
}

async function unpackInto(cache: string, tree: string, unpack: (staging: string) => Promise<unknown>): Promise<void> {
  const staging = mkdtempSync(join(cache, STAGING_PREFIX));
  try {
    await unpack(staging);
    keep(staging, tree);
  } finally {
    removeTree(staging);
  }
}

/** The unpack with the caller's wide maps; the owner they leave out if one stopped it. */
async function unpackMapped(cache: string, tree: string, image: ResolvedImage, storage: MappedStorage): Promise<TooNarrow | undefined> {
  const staging = mkdtempSync(join(cache, STAGING_PREFIX));
  try {
    const narrow = await storage.unpack(staging, image);
    if (!narrow) keep(staging, tree);
    return narrow;
  } finally {
    if (existsSync(staging)) {
      try {
        storage.remove(staging);
      } catch (err) {
        log("warning", `cannot remove the partial tree ${staging}: ${(err as Error).message}`);
      }
    }
  }
}

function keep(staging: string, tree: string): void {
  try {
    renameSync(staging, tree);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Another run got there first: its tree is the same.
    if ((code !== "ENOTEMPTY" && code !== "EEXIST") || !existsSync(tree)) {
      throw new BuncError("system", `cannot keep the unpacked image at ${tree}: ${(err as Error).message}`);
    }
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
 * gc's part: removes the trees of chains no stored image has (`kept`: chain IDs) that no
 * mounted overlay uses, and unpacks that died. Nothing when a run holds the cache.
 */
export function pruneRootfsCache(store: string, kept: ReadonlySet<string>): number {
  if (!existsSync(join(store, ROOTFS_CACHE_DIR))) return 0;
  const { cache, fd } = openCache(store);
  try {
    if (!tryFlock(fd, LOCK_EX, cache)) return 0;
    const lowers = overlayLowerDirs();
    let removed = 0;
    for (const name of readdirSync(cache)) {
      const path = join(cache, name);
      // The chain is the name up to the maps' tag, if any.
      if (!name.startsWith(STAGING_PREFIX) && (kept.has(`sha256:${name.split(".")[0]}`) || lowers.has(path))) continue;
      removeTree(path);
      removed++;
    }
    return removed;
  } finally {
    closeSync(fd);
  }
}
