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
import { closeSync, constants, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { LOCK_EX, LOCK_SH, tryFlock } from "../../../ffi/io.ts";
import { BuncError } from "../../errors.ts";
import { log } from "../../log.ts";
import { ownIdMaps, type IdMaps } from "../../linux/subids.ts";
import { mapText } from "../../linux/user-namespace.ts";
import { STORE_LOCK_TIMEOUT_MS } from "../limits.ts";
import type { ResolvedImage } from "../resolve.ts";
import { unpackImage } from "../unpack-image.ts";
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

/** The image's unpacked layers, unpacked now if no earlier run did; held until release(). */
export async function cachedRootfs(store: string, image: ResolvedImage, opts: CacheOptions = {}): Promise<CachedRootfs> {
  const { cache, fd } = openCache(store);
  const release = () => closeSync(fd);
  try {
    const deadline = Date.now() + STORE_LOCK_TIMEOUT_MS;
    while (!tryFlock(fd, LOCK_SH, cache)) {
      if (Date.now() > deadline) throw new BuncError("image", `${cache} is locked by gc for more than ${STORE_LOCK_TIMEOUT_MS / 1000} s`);
      Bun.sleepSync(20);
    }
    const hex = chainId(image.layers.map((l) => l.diffId)).replace(/^sha256:/, "");
    if (!opts.rootless) {
      const tree = join(cache, hex);
      if (!existsSync(tree)) await unpackInto(cache, tree, image);
      return { tree, mapped: false, release };
    }
    const ownTree = join(cache, `${hex}.${mapsTag(ownIdMaps(process.geteuid!(), process.getegid!()))}`);
    const storage = opts.storage;
    if (storage) {
      const wideTree = join(cache, `${hex}.${mapsTag(storage.maps)}`);
      const st = lstatSync(wideTree, { throwIfNoEntry: false });
      if (st?.isDirectory()) return { tree: wideTree, mapped: true, release };
      if (!st && storage.tryStart()) {
        const narrow = await unpackMapped(cache, wideTree, image, storage);
        if (!narrow) return { tree: wideTree, mapped: true, release };
        log("warning", tooNarrowWarning(narrow, storage.maps));
        try {
          symlinkSync(basename(ownTree), wideTree);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        }
      }
    }
    if (!existsSync(ownTree)) await unpackInto(cache, ownTree, image);
    return { tree: ownTree, mapped: false, release };
  } catch (err) {
    release();
    throw err;
  }
}

const lastId = (maps: IdMaps["uidMappings"]) => Math.max(...maps.map((m) => m.containerID + m.size - 1));

function tooNarrowWarning(narrow: TooNarrow, maps: IdMaps): string {
  return (
    `"${narrow.entry}" in the image belongs to ${narrow.uid}:${narrow.gid}, beyond your sub-id maps (container uids 0-${lastId(maps.uidMappings)}, gids 0-${lastId(maps.gidMappings)}): ` +
    `the image is unpacked with only your own ids mapped instead; widen your ranges in /etc/subuid and /etc/subgid to keep its owners`
  );
}

async function unpackInto(cache: string, tree: string, image: ResolvedImage): Promise<void> {
  const staging = mkdtempSync(join(cache, STAGING_PREFIX));
  try {
    await unpackImage(image, staging);
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
