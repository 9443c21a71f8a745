// A layer blob's bytes, decompressed. The compression is read from the first bytes (gzip
// 1f 8b, zstd 28 b5 2f fd), not only from the media type: a mislabeled layer still unpacks,
// with a warning. node:zlib's streams are the fastest decompressors Bun has here (gzip
// ~285 MB/s against ~250 MB/s for DecompressionStream, measured on a 700 MB tar).
import { createGunzip, createZstdDecompress, type Gunzip, type ZstdDecompress } from "node:zlib";
import { BuncError } from "../../errors.ts";

export type Compression = "gzip" | "zstd" | "none";

/** The compression a layer media type declares, or undefined for a type bunc does not know. */
export function compressionOfMediaType(mediaType: string): Compression | undefined {
  if (/^application\/vnd\.oci\.image\.layer\.(nondistributable\.)?v1\.tar$/.test(mediaType)) return "none";
  if (/^application\/vnd\.oci\.image\.layer\.(nondistributable\.)?v1\.tar\+gzip$/.test(mediaType)) return "gzip";
  if (/^application\/vnd\.oci\.image\.layer\.(nondistributable\.)?v1\.tar\+zstd$/.test(mediaType)) return "zstd";
  if (/^application\/vnd\.docker\.image\.rootfs\.(foreign\.)?diff\.tar\.gzip$/.test(mediaType)) return "gzip";
  if (mediaType === "application/vnd.docker.image.rootfs.diff.tar") return "none";
  return undefined;
}

/** Media types that name a compression bunc cannot undo: refused up front, by name. */
const UNSUPPORTED = /\+(bzip2|xz|lz4)$|\.tar\.(bz2|xz)$/;

export function sniffCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return "none";
}

const OUT_CHUNK = 256 * 1024;

function drainOrClose(z: Gunzip | ZstdDecompress): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      z.off("drain", done);
      z.off("close", done);
      resolve();
    };
    z.on("drain", done);
    z.on("close", done);
  });
}

/** The first bytes of a blob (at least 4 unless it is shorter), to sniff its compression. */
export async function readHead(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> }): Promise<{ bytes: Uint8Array; ended: boolean }> {
  const head: Uint8Array[] = [];
  let length = 0;
  while (length < 4) {
    const r = await reader.read();
    if (r.done || !r.value) return { bytes: Buffer.concat(head), ended: true };
    head.push(r.value);
    length += r.value.length;
  }
  return { bytes: head.length === 1 ? head[0]! : Buffer.concat(head), ended: false };
}

/** The compression to undo: the content's, with a warning when the media type disagrees. */
export function chooseCompression(head: Uint8Array, mediaType: string, label: string, warn: (msg: string) => void): Compression {
  if (UNSUPPORTED.test(mediaType)) throw new BuncError("layer", `layer ${label}: media type ${mediaType}: compression not supported`);
  const sniffed = sniffCompression(head);
  const declared = compressionOfMediaType(mediaType);
  const seen = sniffed === "none" ? "uncompressed" : sniffed;
  if (declared === undefined) warn(`layer ${label}: unknown media type ${mediaType}; content looks ${seen}`);
  else if (declared !== sniffed && head.length > 0) warn(`layer ${label}: media type ${mediaType} but the content is ${seen}: using the content`);
  return sniffed;
}

/**
 * The decompressed chunks of a layer blob, decompressed on this thread (where no worker
 * thread can start). `label` names the layer in messages. Stopping the iteration early (an
 * error downstream, a size limit) cancels the source and the decompressor.
 */
export async function* decompressLayer(
  source: ReadableStream<Uint8Array>,
  mediaType: string,
  label: string,
  warn: (msg: string) => void,
): AsyncGenerator<Uint8Array> {
  const reader = source.getReader();
  try {
    const head = await readHead(reader);
    const first = head.bytes;
    let ended = head.ended;
    const sniffed = chooseCompression(first, mediaType, label, warn);
    if (sniffed === "none") {
      if (first.length) yield first;
      while (!ended) {
        const r = await reader.read();
        if (r.done) break;
        yield r.value;
      }
      return;
    }

    const z: Gunzip | ZstdDecompress = sniffed === "gzip" ? createGunzip({ chunkSize: OUT_CHUNK }) : createZstdDecompress({ chunkSize: OUT_CHUNK });
    const pump = async () => {
      try {
        let chunk: Uint8Array | undefined = first;
        while (chunk !== undefined) {
          if (chunk.length && !z.write(chunk)) await drainOrClose(z);
          if (z.destroyed) return;
          if (ended) break;
          const r = await reader.read();
          if (r.done) ended = true;
          chunk = r.done ? undefined : r.value;
        }
        z.end();
      } catch (err) {
        z.destroy(err as Error);
      }
    };
    void pump();
    try {
      for await (const out of z) yield out as Uint8Array;
    } catch (err) {
      throw new BuncError("layer", `layer ${label}: ${sniffed} data is corrupt or truncated: ${(err as Error).message}`);
    } finally {
      z.destroy();
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
