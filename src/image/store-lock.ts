// The store's lock: flock(2) on the store directory itself. Chosen over an O_EXCL lock file
// because the kernel drops an flock when its holder exits or crashes, so no stale lock file
// can ever block the store, and no extra file appears in the layout for other tools to see.
// Holders: every index.json update (import's commit, rmi) and gc. Waits are bounded.
import { closeSync, constants, openSync } from "node:fs";
import { LOCK_EX, tryFlock } from "../../ffi/io.ts";
import { BuncError } from "../errors.ts";
import { STORE_LOCK_TIMEOUT_MS } from "./limits.ts";

/** Open `dir` and take an exclusive flock on it; returns the fd (closing it unlocks). */
export function lockDirectory(dir: string, what: string, timeoutMs = STORE_LOCK_TIMEOUT_MS): number {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  const deadline = Date.now() + timeoutMs;
  let pause = 2;
  try {
    while (!tryFlock(fd, LOCK_EX, dir)) {
      if (Date.now() > deadline) throw new BuncError("image", `${what} ${dir} is locked by another process for more than ${Math.round(timeoutMs / 1000)} s`);
      Bun.sleepSync(pause);
      pause = Math.min(pause * 2, 50);
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Run `fn` holding the directory's lock. */
export async function withDirectoryLock<T>(dir: string, what: string, fn: () => T | Promise<T>): Promise<T> {
  const fd = lockDirectory(dir, what);
  try {
    return await fn();
  } finally {
    closeSync(fd);
  }
}
