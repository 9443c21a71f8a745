// An image's layers applied into a directory of its own: the common part of `bunc unpack`
// and `bunc bundle`. Each layer's raw bytes are checked against its digest and size as
// they stream into the unpacker, which checks the diffID; on any failure the directory is
// removed again, so a half-applied tree never looks like an image.
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { BuncError } from "../errors.ts";
import { log } from "../log.ts";
import { verifyingStream } from "./digest.ts";
import type { ResolvedImage } from "./resolve.ts";
import { unpackLayers, type UnpackStats } from "./unpack/unpack-layers.ts";

/** Makes `dir` for an unpack: it must not exist, or be an empty directory. Says whether it was made. */
export function claimEmptyDir(dir: string, what: string): boolean {
  try {
    mkdirSync(dir, { mode: 0o755 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new BuncError("system", `${what} ${dir}: ${(err as Error).message}`);
  }
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    throw new BuncError("usage", `${what} ${dir} exists and is not a directory`);
  }
  if (entries.length > 0) throw new BuncError("usage", `${what} ${dir} is not empty`);
  return false;
}

/** Empties (or removes, when it was ours) a directory whose unpack failed. */
export function discardDir(dir: string, made: boolean): void {
  try {
    if (made) rmSync(dir, { recursive: true, force: true });
    else for (const name of readdirSync(dir)) rmSync(`${dir}/${name}`, { recursive: true, force: true });
  } catch (err) {
    log("warning", `cannot remove the partial tree ${dir}: ${(err as Error).message}`);
  }
}

/** Applies the image's layers, in order, into `rootfs` (which must exist and be empty). */
export function unpackImage(image: ResolvedImage, rootfs: string): Promise<UnpackStats> {
  const layers = image.layers.map((layer, i) => ({
    digest: layer.digest,
    mediaType: layer.mediaType,
    size: layer.size,
    diffId: layer.diffId,
    open: () => verifyingStream(layer.open(), layer.digest, layer.size, `layer ${i + 1} (${layer.digest})`),
  }));
  return unpackLayers(rootfs, layers, { onWarning: (msg) => log("warning", msg) });
}
