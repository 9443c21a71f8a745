// A second reader of blobs while they download: the tee is the partial file itself. The
// downloader (blob-download.ts) writes each chunk there and tells this tap how far it got;
// a reader opened here reads the file up to that point with positional reads, then waits
// for more. Nothing is held in memory but the chunk being handed on, and the download never
// waits for the reader: a slow reader reads from the page cache what landed long before.
//
// A reader's stream ends only once the downloader has checked the whole blob's digest and
// size and handed it to the sink: so whatever consumes it finishes nothing on bytes that
// turn out wrong. When the download fails the reader fails with the download's error. When
// the downloader empties the partial to start again (a resume the server refused, a partial
// an earlier pull left that did not verify) after a reader has taken bytes from it, `voided`
// is set and the reader fails with TeeRestartedError: what it gave is void (and may have
// made its consumer fail first); the caller reads the verified blob again once it is stored.
//
// A blob that is already there when its download starts (the store or an earlier pull had
// it) is opened at once, before another pull's commit can move it, and read through the
// usual digest and size check.
import { closeSync, constants, openSync, readSync } from "node:fs";
import { verifyingStream } from "../digest.ts";
import type { BlobTap } from "./blob-download.ts";
import type { Descriptor } from "./documents.ts";
import { registryError } from "./registry-error.ts";

/** A reader took bytes of a partial that was then emptied to start again. */
export class TeeRestartedError extends Error {
  constructor(digest: string) {
    super(`blob ${digest}: the download started again after these bytes were read`);
    this.name = "TeeRestartedError";
  }
}

const READ_CHUNK = 1024 * 1024;

interface Followed {
  /** Our own read-only fd on the partial, opened while the downloader held it. */
  fd?: number;
  written: number;
  /** Bumped by every restart. */
  generation: number;
  committed: boolean;
  /** Not downloaded now: the sink had it (fd is that file's, or undefined when it could not be opened). */
  stored?: boolean;
  error?: unknown;
  waiters: (() => void)[];
}

/** An fd's bytes from the start, with positional reads (the fd is shared, its offset unused). */
function fileStream(fd: number): ReadableStream<Uint8Array> {
  let position = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      const n = readSync(fd, buf, 0, buf.length, position);
      if (n === 0) return controller.close();
      position += n;
      controller.enqueue(n === buf.length ? buf : buf.subarray(0, n));
    },
  });
}

export class BlobTee implements BlobTap {
  private readonly blobs = new Map<string, Followed>();
  private abortError: { err: unknown } | undefined;
  private firstFailure: { err: unknown } | undefined;
  /** Blobs a reader has taken bytes of from the partial. */
  private readonly readFrom = new Set<string>();
  /** A reader's bytes were made void by a restart of their download. */
  voided = false;

  /**
   * `openStored` opens, read-only, a blob the sink had before its download started
   * (undefined: not there): it is called at once, while the file is where the sink saw it.
   */
  constructor(private readonly openStored: (digest: string) => number | undefined) {}

  private state(digest: string): Followed {
    let s = this.blobs.get(digest);
    if (!s) {
      s = { written: 0, generation: 0, committed: false, waiters: [] };
      this.blobs.set(digest, s);
    }
    return s;
  }

  private wake(s: Followed): void {
    const waiters = s.waiters;
    s.waiters = [];
    for (const w of waiters) w();
  }

  opened(digest: string, path: string, offset: number): void {
    const s = this.state(digest);
    // Opened while the downloader holds the partial: the same file, whatever is renamed after.
    if (s.fd === undefined) s.fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    s.written = offset;
    this.wake(s);
  }

  written(digest: string, offset: number): void {
    const s = this.state(digest);
    s.written = offset;
    if (s.waiters.length) this.wake(s);
  }

  restarted(digest: string): void {
    const s = this.state(digest);
    if (this.readFrom.has(digest)) this.voided = true;
    s.generation++;
    s.written = 0;
    this.wake(s);
  }

  committed(digest: string): void {
    const s = this.state(digest);
    if (s.fd === undefined) {
      s.fd = this.openStored(digest);
      s.stored = true;
    }
    s.committed = true;
    this.wake(s);
  }

  failed(digest: string, err: unknown): void {
    const s = this.state(digest);
    s.error ??= err;
    this.firstFailure ??= { err };
    this.wake(s);
  }

  /** Fail every reader still waiting (the pull or the consumer stopped); the first failure is kept. */
  abort(err: unknown): void {
    this.abortError ??= { err };
    this.firstFailure ??= { err };
    for (const s of this.blobs.values()) this.wake(s);
  }

  /**
   * Resolves once every blob a reader has taken bytes of is verified or failed: a consumer
   * that fails on bytes not yet verified waits for this, so that a blob that does not
   * verify is reported as the cause (its digests), not what its bytes did downstream.
   */
  async settled(): Promise<void> {
    for (const digest of this.readFrom) {
      const s = this.state(digest);
      while (!s.committed && s.error === undefined && !this.abortError) await new Promise<void>((resolve) => s.waiters.push(resolve));
    }
  }

  /** The first failure a download reported or abort() was given, in that order of time. */
  get failure(): { err: unknown } | undefined {
    return this.firstFailure;
  }

  /** Closes the fds of the partials followed. */
  close(): void {
    for (const s of this.blobs.values()) {
      if (s.fd !== undefined) closeSync(s.fd);
      s.fd = undefined;
    }
  }

  /**
   * The blob's bytes as they land; the stream ends once the blob is verified. `what` names
   * it in the errors of a blob read from a file the sink had.
   */
  open(desc: Descriptor, what: string): ReadableStream<Uint8Array> {
    const s = this.state(desc.digest);
    let position = 0;
    let generation: number | undefined;
    let fromFile: AsyncIterator<Uint8Array> | undefined;
    const wait = () => new Promise<void>((resolve) => s.waiters.push(resolve));
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          if (fromFile) {
            const r = await fromFile.next();
            if (r.done) controller.close();
            else controller.enqueue(r.value);
            return;
          }
          if (s.error !== undefined) throw s.error;
          if (this.abortError) throw this.abortError.err;
          if (generation !== undefined && s.generation !== generation) throw new TeeRestartedError(desc.digest);
          if (s.stored) {
            // There before its download started: the sink's file, checked as any stored blob.
            if (s.fd === undefined) throw registryError(`${what}: not found where the pull left it`);
            fromFile = verifyingStream(fileStream(s.fd), desc.digest, desc.size, what)[Symbol.asyncIterator]();
            continue;
          }
          if (s.fd === undefined) {
            await wait();
            continue;
          }
          if (position < s.written) {
            if (generation === undefined) {
              generation = s.generation;
              this.readFrom.add(desc.digest);
            }
            const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, s.written - position));
            const n = readSync(s.fd, buf, 0, buf.length, position);
            if (n <= 0) throw registryError(`${what}: short read at ${position} of ${s.written} bytes`);
            position += n;
            controller.enqueue(n === buf.length ? buf : buf.subarray(0, n));
            return;
          }
          if (s.committed) {
            if (position !== desc.size) throw registryError(`${what}: ${position} bytes were read of ${desc.size}`);
            controller.close();
            return;
          }
          await wait();
        }
      },
      cancel: async (reason) => {
        await fromFile?.return?.(reason).catch(() => {});
      },
    });
  }
}
