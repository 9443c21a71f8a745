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
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { LOCK_EX, LOCK_SH, tryFlock } from "../../../ffi/io.ts";
import { BuncError } from "../../errors.ts";
import { STORE_LOCK_TIMEOUT_MS } from "../limits.ts";
import type { ResolvedImage } from "../resolve.ts";
import { unpackImage } from "../unpack-image.ts";
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

/** The image's unpacked layers, unpacked now if no earlier run did; held until release(). */
export async function cachedRootfs(store: string, image: ResolvedImage): Promise<CachedRootfs> {
  const { cache, fd } = openCache(store);
  const release = () => closeSync(fd);
  try {
    const deadline = Date.now() + STORE_LOCK_TIMEOUT_MS;
    while (!tryFlock(fd, LOCK_SH, cache)) {
      if (Date.now() > deadline) throw new BuncError("image", `${cache} is locked by gc for more than ${STORE_LOCK_TIMEOUT_MS / 1000} s`);
      Bun.sleepSync(20);
    }
    const tree = join(cache, chainId(image.layers.map((l) => l.diffId)).replace(/^sha256:/, ""));
    if (!existsSync(tree)) await unpackInto(cache, tree, image);
    return { tree, release };
  } catch (err) {
    release();
    throw err;
  }
}

async function unpackInto(cache: string, tree: string, image: ResolvedImage): Promise<void> {
  const staging = mkdtempSync(join(cache, STAGING_PREFIX));
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
