// One blob from a registry into a sink: streamed through a hasher into the sink's partial
// file, resumed with `Range: bytes=N-` after a dropped or stalled connection, a 5xx or a
// 429, and across processes (the partial stays in the sink's temp area; its bytes are hashed
// again before the download goes on, and the whole is checked at the end); two pulls of one
// blob take turns through an flock on the partial. Never more than
// the descriptor's size is written. A digest mismatch deletes the partial and fails with
// both digests. Foreign layer `urls` are only tried when asked, and never get credentials
// (CVE-2020-15157). A BlobTap is told where the bytes are as they land, so a reader can
// follow the partial file while it grows (blob-tee.ts).
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync, readSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { LOCK_EX, tryFlock } from "../../../ffi/io.ts";
import { registryError, shown } from "./registry-error.ts";
import { checkDigest, digestAlgorithm } from "./digest.ts";
import { RetryableError, withRetries } from "./retry.ts";
import { type RegistrySession, errorDetail, isNetworkFailure } from "./session.ts";
import { type RegistryEndpoint, isLoopbackHost } from "./mirrors.ts";
import type { BlobSink } from "./blob-sink.ts";
import type { Descriptor } from "./documents.ts";

export interface BlobProgress {
  digest: string;
  /** Bytes in the partial so far (resumed bytes included). */
  received: number;
  total: number;
  done: boolean;
}

/**
 * Told, with the partial locked by this download, where a blob's bytes are as they land.
 * Calls are synchronous: a tap that wants the file opens it in opened().
 */
export interface BlobTap {
  /** The partial at `path` is ours and holds `offset` bytes (maybe from an earlier pull). */
  opened(digest: string, path: string, offset: number): void;
  /** The partial holds `offset` bytes. */
  written(digest: string, offset: number): void;
  /** The partial was emptied to start again: whatever was read of it before is void. */
  restarted(digest: string): void;
  /** The blob is verified and in the sink: downloaded now, or there already (no opened()). */
  committed(digest: string): void;
  /** This download of the blob failed with `err`. */
  failed(digest: string, err: unknown): void;
}

export interface BlobDownload {
  session: RegistrySession;
  /** Where to fetch from, in order: mirrors, then the registry. */
  endpoints: RegistryEndpoint[];
  /** Try a foreign layer's `urls` before the registry (never with credentials). Default false. */
  followForeignUrls?: boolean;
  onProgress?: (p: BlobProgress) => void;
  tap?: BlobTap;
  signal?: AbortSignal;
}

const READ_CHUNK = 1024 * 1024;
const LOCK_POLL_MS = 50;

interface Partial {
  fd: number;
  path: string;
  offset: number;
  hasher: Bun.CryptoHasher;
  /** Bytes came from an earlier pull: a mismatch may be theirs, so one fresh start is allowed. */
  inherited: boolean;
  tap?: BlobTap;
}

/**
 * Open (or create) the partial without following a planted symlink, lock it against another
 * pull of the same blob (flock: the kernel drops it when a pull dies), and hash what it
 * holds. Undefined when, once the lock is ours, the sink has the blob: another pull finished it.
 */
async function openPartial(sink: BlobSink, desc: Descriptor, signal?: AbortSignal): Promise<Partial | undefined> {
  for (;;) {
    const path = sink.partialPath(desc.digest);
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    try {
      while (!tryFlock(fd, LOCK_EX, path)) {
        if (signal?.aborted) throw signal.reason;
        await Bun.sleep(LOCK_POLL_MS);
      }
      const st = fstatSync(fd);
      const now = lstatOrUndefined(path);
      if (await sink.has(desc.digest)) {
        // Another pull finished the blob. A partial we hold the lock of is nobody's (we may
        // have made it just now, after that pull renamed its own away): it goes.
        if (now && now.ino === st.ino && now.dev === st.dev) unlinkSync(path);
        closeSync(fd);
        return undefined;
      }
      // The holder before us committed (renamed) or deleted this file: open the path again.
      if (!now || now.ino !== st.ino || now.dev !== st.dev) {
        closeSync(fd);
        continue;
      }
      if (!st.isFile()) throw registryError(`partial download ${path} is not a regular file`);
      const hasher = new Bun.CryptoHasher(digestAlgorithm(desc.digest));
      let offset = st.size;
      if (offset > desc.size) {
        ftruncateSync(fd, 0);
        offset = 0;
      }
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(offset, 1)));
      for (let at = 0; at < offset; ) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, offset - at), at);
        if (n <= 0) throw registryError(`partial download ${path}: short read at ${at} of ${offset}`);
        hasher.update(buf.subarray(0, n));
        at += n;
      }
      return { fd, path, offset, hasher, inherited: offset > 0 };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function restart(p: Partial, desc: Descriptor): void {
  ftruncateSync(p.fd, 0);
  p.offset = 0;
  p.hasher = new Bun.CryptoHasher(digestAlgorithm(desc.digest));
  p.inherited = false;
  p.tap?.restarted(desc.digest);
}

/** `bytes START-END/TOTAL` → START, or undefined. */
function rangeStart(header: string | null): number | undefined {
  const m = header === null ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  return m ? Number(m[1]) : undefined;
}

type Source = { kind: "registry"; endpoint: RegistryEndpoint } | { kind: "foreign"; url: string };

function sourcesFor(ctx: BlobDownload, desc: Descriptor): Source[] {
  const sources: Source[] = [];
  if (ctx.followForeignUrls) {
    for (const u of desc.urls ?? []) {
      let url: URL;
      try {
        url = new URL(u);
      } catch {
        continue;
      }
      if (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.host))) sources.push({ kind: "foreign", url: url.href });
    }
  }
  for (const endpoint of ctx.endpoints) sources.push({ kind: "registry", endpoint });
  return sources;
}

const sourceName = (s: Source) => (s.kind === "foreign" ? s.url : `${s.endpoint.apiHost}/${s.endpoint.repository}`);

/** Download `desc` into `sink` unless it is there already. */
export async function downloadBlob(ctx: BlobDownload, desc: Descriptor, sink: BlobSink): Promise<void> {
  checkDigest(desc.digest, `blob descriptor`);
  try {
    await download(ctx, desc, sink);
  } catch (err) {
    ctx.tap?.failed(desc.digest, err);
    throw err;
  }
}

async function download(ctx: BlobDownload, desc: Descriptor, sink: BlobSink): Promise<void> {
  const what = `blob ${desc.digest}`;
  const present = () => {
    ctx.onProgress?.({ digest: desc.digest, received: desc.size, total: desc.size, done: true });
    ctx.tap?.committed(desc.digest);
  };
  if (await sink.has(desc.digest)) return present();
  const p = await openPartial(sink, desc, ctx.signal);
  if (!p) return present();
  if (ctx.tap) {
    p.tap = ctx.tap;
    ctx.tap.opened(desc.digest, p.path, p.offset);
  }
  let closed = false;
  const close = () => {
    if (!closed) closeSync(p.fd);
    closed = true;
  };
  try {
    ctx.onProgress?.({ digest: desc.digest, received: p.offset, total: desc.size, done: false });
    const errors: string[] = [];
    for (const source of sourcesFor(ctx, desc)) {
      try {
        await fetchInto(ctx, source, desc, p);
      } catch (err) {
        if (ctx.signal?.aborted || (err as { fatal?: boolean }).fatal) throw err;
        errors.push(`${sourceName(source)}: ${(err as Error).message}`);
        continue;
      }
      const actual = `${digestAlgorithm(desc.digest)}:${p.hasher.digest("hex")}`;
      if (actual !== desc.digest) {
        if (p.inherited) {
          // The bytes of an earlier pull may be the bad ones: start once from nothing.
          restart(p, desc);
          await fetchInto(ctx, source, desc, p);
          const again = `${digestAlgorithm(desc.digest)}:${p.hasher.digest("hex")}`;
          if (again === desc.digest) return await finish(ctx, desc, sink, p, close);
          throw mismatch(desc, again, p, close);
        }
        throw mismatch(desc, actual, p, close);
      }
      return await finish(ctx, desc, sink, p, close);
    }
    throw registryError(`${what}: could not be fetched from any source: ${errors.join("; ")}`);
  } finally {
    close();
  }
}

function mismatch(desc: Descriptor, actual: string, p: Partial, close: () => void): Error {
  rmSync(p.path, { force: true });
  close();
  return registryError(`blob ${desc.digest}: digest mismatch: the registry sent content with digest ${actual}, expected ${desc.digest}; the partial download was deleted`);
}

async function finish(ctx: BlobDownload, desc: Descriptor, sink: BlobSink, p: Partial, close: () => void): Promise<void> {
  // Committed while the lock is held: a pull waiting for it then finds the blob in the sink.
  await sink.commit(desc.digest, desc.size, p.path);
  close();
  ctx.onProgress?.({ digest: desc.digest, received: desc.size, total: desc.size, done: true });
  ctx.tap?.committed(desc.digest);
}

const fatal = (err: Error): Error => Object.assign(err, { fatal: true });

/** Fill the partial from one source, with retries; returns when it holds `size` bytes. */
async function fetchInto(ctx: BlobDownload, source: Source, desc: Descriptor, p: Partial): Promise<void> {
  let before = p.offset;
  const what = `blob ${desc.digest} from ${sourceName(source)}`;
  await withRetries(
    ctx.session.retry,
    what,
    async () => {
      before = p.offset;
      await oneAttempt(ctx, source, desc, p);
    },
    {
      signal: ctx.signal,
      madeProgress: () => p.offset > before,
    },
  );
}

async function oneAttempt(ctx: BlobDownload, source: Source, desc: Descriptor, p: Partial): Promise<void> {
  if (p.offset === desc.size) return;
  const stall = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, stall.signal]) : stall.signal;
  const headers: Record<string, string> = p.offset > 0 ? { range: `bytes=${p.offset}-` } : {};
  const scope = source.kind === "registry" ? `repository:${source.endpoint.repository}:pull` : "";
  const res =
    source.kind === "registry"
      ? await ctx.session.request(source.endpoint, `/v2/${source.endpoint.repository}/blobs/${desc.digest}`, { headers, scope, signal })
      : await ctx.session.fetchWithoutCredentials(source.url, { headers, signal });
  if (res.status === 416 && p.offset > 0) {
    await res.body?.cancel().catch(() => {});
    restart(p, desc);
    throw new RetryableError(`the server refused to resume (416); starting again`);
  }
  if (res.status === 404) throw registryError(`not found (404)${await errorDetail(res)}`);
  if (res.status !== 200 && res.status !== 206) throw registryError(`answered ${res.status}${await errorDetail(res)}`);
  if (res.status === 200 && p.offset > 0) restart(p, desc); // Range ignored: the body is the whole blob.
  if (res.status === 206 && rangeStart(res.headers.get("content-range")) !== p.offset) {
    await res.body?.cancel().catch(() => {});
    restart(p, desc);
    throw new RetryableError(`resumed at the wrong place (Content-Range ${shown(res.headers.get("content-range") ?? "")}, wanted ${p.offset}); starting again`);
  }
  if (!res.body) throw new RetryableError("no body");
  const reader = res.body.getReader();
  let lastChunk = Date.now();
  const watchdog = setInterval(
    () => {
      if (Date.now() - lastChunk > ctx.session.idleTimeoutMs) stall.abort(new RetryableError(`no data for ${ctx.session.idleTimeoutMs} ms`));
    },
    Math.max(10, Math.floor(ctx.session.idleTimeoutMs / 4)),
  );
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (ctx.signal?.aborted) throw err;
        if (err instanceof RetryableError) throw err;
        if (stall.signal.aborted) throw stall.signal.reason;
        if (isNetworkFailure(err)) throw new RetryableError(`connection dropped after ${p.offset} of ${desc.size} bytes: ${(err as Error).message}`);
        throw err;
      }
      if (chunk.done) break;
      lastChunk = Date.now();
      const value = chunk.value;
      if (p.offset + value.length > desc.size) {
        await reader.cancel().catch(() => {});
        restart(p, desc);
        throw fatal(registryError(`blob ${desc.digest}: the server sent more than the ${desc.size} bytes the descriptor says; the partial download was reset`));
      }
      writeSync(p.fd, value, 0, value.length, p.offset);
      p.hasher.update(value);
      p.offset += value.length;
      ctx.tap?.written(desc.digest, p.offset);
      ctx.onProgress?.({ digest: desc.digest, received: p.offset, total: desc.size, done: false });
    }
  } finally {
    clearInterval(watchdog);
    reader.releaseLock();
  }
  if (p.offset < desc.size) throw new RetryableError(`the body ended after ${p.offset} of ${desc.size} bytes`);
}
