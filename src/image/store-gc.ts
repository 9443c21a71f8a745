// `bunc gc`: remove the blobs no index.json entry reaches, staging files left by imports
// and pulls that died, and unpacked trees of images no longer stored (unless mounted). Runs
// under the store lock, so no import commits meanwhile; a staging directory whose flock can
// be taken has no live owner.
import { closeSync, constants, openSync, readdirSync, rmSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { LOCK_EX, tryFlock } from "../../ffi/io.ts";
import { isDigest } from "./digest.ts";
import { COMPLETE_PREFIX, PARTIAL_PREFIX } from "./store-blob-sink.ts";
import { pruneRootfsCache } from "./run/rootfs-cache.ts";
import { lockDirectory } from "./store-lock.ts";
import { reach, type Reach } from "./store-walk.ts";
import { ImageStore, INDEX_TEMP_FILE_PREFIX, STAGING_DIR_PREFIX, TEMP_DIR } from "./store.ts";

export interface GcReport {
  blobsRemoved: number;
  bytesFreed: number;
  tempsRemoved: number;
  /** Unpacked trees `run --image` kept (run/rootfs-cache.ts). */
  treesRemoved: number;
}

export async function collectGarbage(storeDir: string): Promise<GcReport> {
  const store = new ImageStore(storeDir);
  const report: GcReport = { blobsRemoved: 0, bytesFreed: 0, tempsRemoved: 0, treesRemoved: 0 };
  if (!store.isLayout()) {
    // Trees that `run --image oci:…` unpacked into a store that holds no image yet.
    report.treesRemoved = pruneRootfsCache(storeDir, new Set());
    return report;
  }
  return store.withLock(async () => {
    // Mark everything reachable first: an unreadable manifest stops gc before it deletes.
    const kept: Reach = { blobs: new Map(), configs: 0, chains: new Set() };
    for (const d of store.layout.readIndex().manifests) await reach(store, d, kept);
    const blobsDir = join(storeDir, "blobs");
    for (const algorithm of safeList(blobsDir)) {
      if (algorithm !== "sha256" && algorithm !== "sha512") continue;
      for (const hex of safeList(join(blobsDir, algorithm))) {
        const digest = `${algorithm}:${hex}`;
        // Files that are not named as blobs belong to someone else: leave them.
        if (!isDigest(digest) || kept.blobs.has(digest)) continue;
        const path = join(blobsDir, algorithm, hex);
        try {
          const st = statSync(path);
          unlinkSync(path);
          report.blobsRemoved++;
          report.bytesFreed += st.size;
        } catch {}
      }
    }
    const tempDir = join(storeDir, TEMP_DIR);
    let liveWriter = false;
    for (const name of safeList(tempDir)) {
      const path = join(tempDir, name);
      if (name.startsWith(STAGING_DIR_PREFIX)) {
        let fd: number;
        try {
          fd = lockDirectory(path, "staging directory", 0);
        } catch {
          liveWriter = true;
          continue; // an import or pull is using it
        }
        rmSync(path, { recursive: true, force: true });
        closeSync(fd);
        report.tempsRemoved++;
      } else if (name.startsWith(INDEX_TEMP_FILE_PREFIX)) {
        // index.json is only written under the lock we hold: this one was abandoned.
        rmSync(path, { force: true });
        report.tempsRemoved++;
      }
    }
    // A pull's downloads (store-blob-sink.ts) are shared between pulls, so they belong to no
    // staging directory: they go only while no pull runs (every pull holds a staging
    // directory, made under the lock we hold), and a partial only when no one has it flocked.
    if (!liveWriter) {
      for (const name of safeList(tempDir)) {
        if (!name.startsWith(PARTIAL_PREFIX) && !name.startsWith(COMPLETE_PREFIX)) continue;
        if (removeUnlocked(join(tempDir, name))) report.tempsRemoved++;
      }
    }
    report.treesRemoved = pruneRootfsCache(storeDir, kept.chains!);
    return report;
  });
}

function removeUnlocked(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return false;
  }
  try {
    if (!tryFlock(fd, LOCK_EX, path)) return false;
    rmSync(path, { force: true });
    return true;
  } finally {
    closeSync(fd);
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
