// Unpack an image's layers, in order, into a rootfs directory.
//
// Each layer is streamed: blob → decompressor (gzip, zstd or none, sniffed from the bytes) →
// tar parser → RootfsWriter, which applies every entry through in-root fds (see
// rootfs-writer.ts), so no layer, however crafted, can write outside `rootDir`.
// Whiteouts and opaque directories follow image-spec layer.md.
//
// On any error the partial tree is left as it is: the caller unpacks into a fresh directory
// and discards it on failure (a rootfs half-applied is not something to repair).
import { mkdirSync } from "node:fs";
import { BuncError } from "../../errors.ts";
import { decompressLayer } from "./decompress.ts";
import { DecompressThread, type LayerStream } from "./decompress-thread.ts";
import { RootfsWriter } from "./rootfs-writer.ts";
import { UnmappedOwnerError } from "./rootless-owner.ts";
import { applyTar } from "./tar-apply.ts";

export interface LayerInput {
  digest: string;
  mediaType: string;
  size?: number;
  /** sha256 of the uncompressed tar ("sha256:…"); checked when given. */
  diffId?: string;
  /** The raw blob bytes, compressed as mediaType says. */
  open(): ReadableStream<Uint8Array>;
  /**
   * The blob as a local file, when it is one (a layout store): with decompressOn "thread",
   * the worker reads it itself and the applying thread spends nothing on input.
   */
  path?: string;
}

export interface UnpackOptions {
  /** Stop a layer whose uncompressed tar passes this many bytes. Default 16 GiB. */
  maxLayerBytes?: number;
  /** Stop a layer with more entries than this. Default 2,000,000. */
  maxLayerEntries?: number;
  onWarning?: (msg: string) => void;
  /**
   * Where layers are decompressed and hashed: "inline" (default) on the calling thread, or
   * "thread": on a worker thread beside the entry applier, the next layer decompressing
   * while the current one is applied. On this 2-core machine under load the thread was
   * slower (messaging and copies cost more CPU than the overlap saved) and used more memory:
   * see bench/unpack.ts to measure it again.
   */
  decompressOn?: "thread" | "inline";
  /** Unpacking as root of a user namespace with the caller's sub-ids (rootfs-writer.ts). */
  inUserNamespace?: boolean;
}

export interface UnpackStats {
  layers: number;
  entries: number;
  whiteouts: number;
  /** Uncompressed tar bytes over all layers. */
  bytes: number;
  /** The sha256 of each layer's uncompressed tar, in order. */
  diffIds: string[];
}

export const DEFAULT_MAX_LAYER_BYTES = 16 * 1024 ** 3;
export const DEFAULT_MAX_LAYER_ENTRIES = 2_000_000;

/**
 * Apply `layers` in order to `rootDir` (made if missing). Fails with a BuncError (code
 * "layer") naming the layer digest and, for a bad entry, the entry.
 */
export async function unpackLayers(rootDir: string, layers: LayerInput[], opts: UnpackOptions = {}): Promise<UnpackStats> {
  const warn = opts.onWarning ?? (() => {});
  const limits = {
    maxBytes: opts.maxLayerBytes ?? DEFAULT_MAX_LAYER_BYTES,
    maxEntries: opts.maxLayerEntries ?? DEFAULT_MAX_LAYER_ENTRIES,
  };
  mkdirSync(rootDir, { recursive: true, mode: 0o755 });
  const writer = new RootfsWriter(rootDir, warn, opts.inUserNamespace);
  const thread = opts.decompressOn === "thread" ? await DecompressThread.start() : undefined;
  const open = (layer: LayerInput): LayerStream =>
    thread ? thread.open(layer.path !== undefined ? { path: layer.path } : layer.open(), layer.mediaType, layer.digest, warn) : inlineStream(layer, warn);
  const stats: UnpackStats = { layers: 0, entries: 0, whiteouts: 0, bytes: 0, diffIds: [] };
  // The next layer starts decompressing as soon as the current one is decompressed, while
  // its entries are still being applied (the worker bounds what waits unread).
  let next: LayerStream | undefined;
  let current: LayerStream | undefined;
  let stopped = false;
  try {
    for (const [i, layer] of layers.entries()) {
      current = next ?? open(layer);
      next = undefined;
      const following = layers[i + 1];
      if (thread && following) {
        current.result.then(
          () => {
            if (!stopped) next ??= open(following);
          },
          () => {},
        );
      }
      writer.beginLayer();
      let counts;
      let diffId: string;
      try {
        counts = await applyTar(current.chunks, writer, limits, warn);
        writer.endLayer();
        diffId = (await current.result).diffId;
      } catch (err) {
        throw layerError(layer, err);
      }
      if (layer.diffId !== undefined && layer.diffId !== diffId) {
        throw new BuncError("layer", `layer ${layer.digest}: diffID mismatch: the uncompressed tar is ${diffId}, the image config says ${layer.diffId}`);
      }
      stats.layers++;
      stats.entries += counts.entries;
      stats.whiteouts += counts.whiteouts;
      stats.bytes += counts.bytes;
      stats.diffIds.push(diffId);
    }
    writer.finish();
  } finally {
    stopped = true;
    current?.abort();
    next?.abort();
    thread?.stop();
    writer.close();
  }
  return stats;
}

/** Decompression and hashing on this thread. */
function inlineStream(layer: LayerInput, warn: (msg: string) => void): LayerStream {
  const hasher = new Bun.CryptoHasher("sha256");
  let bytes = 0;
  let resolve!: (r: { diffId: string; bytes: number }) => void;
  const result = new Promise<{ diffId: string; bytes: number }>((r) => (resolve = r));
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for await (const c of decompressLayer(layer.open(), layer.mediaType, layer.digest, warn)) {
      hasher.update(c);
      bytes += c.length;
      yield c;
    }
    resolve({ diffId: `sha256:${hasher.digest("hex")}`, bytes });
  }
  return { chunks: chunks(), result, abort: () => {} };
}

function layerError(layer: LayerInput, err: unknown): BuncError {
  const message = (err as Error)?.message ?? String(err);
  // Kept as it is: the caller falls back to another way of keeping owners.
  if (err instanceof UnmappedOwnerError) return err;
  if (err instanceof BuncError) {
    const prefix = `layer ${layer.digest}`;
    return message.startsWith(prefix) ? err : new BuncError(err.code === "layer" ? "layer" : err.code, `${prefix}: ${message}`, err.errno);
  }
  // Anything else is unexpected here: reported as a tar stream that could not be read.
  return new BuncError("layer", `layer ${layer.digest}: not a valid tar stream: ${message}`);
}
