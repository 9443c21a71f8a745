// Test helpers: layers built in memory with tar-stream's pack(), compressed with node:zlib,
// handed to unpackLayers as LayerInput; temp dirs with a sentinel beside the rootfs.
import { mkdtempSync, mkdirSync, readdirSync, lstatSync, readlinkSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { pack, type Header } from "tar-stream";
import type { LayerInput } from "./unpack-layers.ts";

export type TestEntry = Partial<Header> & { name: string; content?: string | Uint8Array };

const T = new Date("2020-01-02T03:04:05Z");

/** A tar archive of `entries` (defaults: file, mode 0644 or 0755 for directories, uid 0). */
export async function tarOf(entries: TestEntry[]): Promise<Uint8Array> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    p.on("end", resolve);
    p.on("error", reject);
  });
  for (const e of entries) {
    const { content, ...header } = e;
    const type = header.type ?? "file";
    // A file entry without a body would wait for one to be streamed in.
    const body = content === undefined ? (type === "file" ? Buffer.alloc(0) : undefined) : Buffer.from(content);
    await new Promise<void>((resolve, reject) => {
      const h = { mode: type === "directory" ? 0o755 : 0o644, uid: 0, gid: 0, mtime: T, ...header, type };
      if (body) p.entry(h, body, (err) => (err ? reject(err) : resolve()));
      else p.entry(h, (err) => (err ? reject(err) : resolve()));
    });
  }
  p.finalize();
  await ended;
  return new Uint8Array(Buffer.concat(chunks));
}

export type Compress = "gzip" | "zstd" | "none";

export function compress(bytes: Uint8Array, how: Compress): Uint8Array {
  if (how === "gzip") return new Uint8Array(gzipSync(bytes));
  if (how === "zstd") return new Uint8Array(zstdCompressSync(bytes));
  return bytes;
}

const MEDIA: Record<Compress, string> = {
  gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  none: "application/vnd.oci.image.layer.v1.tar",
};

export const sha256 = (b: Uint8Array) => `sha256:${new Bun.CryptoHasher("sha256").update(b).digest("hex")}`;

/** A LayerInput serving `blob` in chunks of `chunk` bytes. */
export function layerOf(blob: Uint8Array, opts: { mediaType?: string; how?: Compress; diffId?: string; chunk?: number } = {}): LayerInput {
  const chunk = opts.chunk ?? 64 * 1024;
  return {
    digest: sha256(blob),
    mediaType: opts.mediaType ?? MEDIA[opts.how ?? "none"],
    size: blob.length,
    diffId: opts.diffId,
    open: () =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < blob.length; i += chunk) c.enqueue(blob.subarray(i, i + chunk));
          c.close();
        },
      }),
  };
}

/** A tar layer of `entries`, compressed as asked, with its diffID. */
export async function layer(entries: TestEntry[], how: Compress = "none"): Promise<LayerInput> {
  const tar = await tarOf(entries);
  return layerOf(compress(tar, how), { how, diffId: sha256(tar) });
}

/** A temp dir holding `rootfs/` and a sentinel dir `outside/` whose state tests compare. */
export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), "bunc-unpack-"));
  readonly root = join(this.dir, "rootfs");
  readonly outside = join(this.dir, "outside");
  constructor() {
    mkdirSync(this.outside);
    writeFileSync(join(this.outside, "secret"), "untouched");
    mkdirSync(join(this.outside, "etc"));
    writeFileSync(join(this.outside, "etc", "passwd"), "host passwd");
  }
  path(p: string) {
    return join(this.root, p);
  }
  /** Everything about the sentinel that a breakout could change. */
  outsideState(): string {
    return JSON.stringify(snapshot(this.outside));
  }
  cleanup() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Names, types, modes, owners, sizes, link targets and file contents of a tree. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      let what = `${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) what += ` -> ${readlinkSync(p)}`;
      else if (st.isFile()) what += ` ${readFileSync(p).toString("base64")}`;
      out[r] = what;
      if (st.isDirectory()) walk(p, r);
    }
  };
  walk(dir, "");
  return out;
}
