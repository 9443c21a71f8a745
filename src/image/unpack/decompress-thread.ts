// Layer decompression on a worker thread (decompress-worker.ts), so that gunzip and the
// diffID hash run beside the entry applier instead of taking turns with it. A session per
// layer; a session can be opened before the previous layer is applied (pipelining), and the
// worker keeps at most a bounded number of unconsumed bytes per session.
import { BuncError } from "../../errors.ts";
import { chooseCompression, type Compression, readHead } from "./decompress.ts";

export interface LayerStream {
  /** Decompressed chunks, in order. */
  chunks: AsyncIterable<Uint8Array>;
  /** sha256 and size of the decompressed bytes, once the worker has seen them all. */
  result: Promise<{ diffId: string; bytes: number }>;
  /** Stop the session (an error downstream): the worker drops it, the source is cancelled. */
  abort(): void;
}

const INPUT_BATCH = 1024 * 1024;
const INPUT_IN_FLIGHT = 8 * 1024 * 1024;

type Msg = { type: "ready" | "need" | "output" | "done" | "error"; id: number; chunk?: Uint8Array; diffId?: string; bytes?: number; message?: string };

interface Session {
  onMessage(msg: Msg): void;
}

export class DecompressThread {
  private readonly sessions = new Map<number, Session>();
  private nextId = 1;

  private constructor(private readonly worker: Worker) {
    worker.onmessage = (event: MessageEvent) => {
      const msg = event.data as Msg;
      this.sessions.get(msg.id)?.onMessage(msg);
    };
    worker.onerror = (event) => {
      const err: Msg = { type: "error", id: 0, message: `decompression thread failed: ${(event as ErrorEvent).message ?? "unknown error"}` };
      for (const s of this.sessions.values()) s.onMessage(err);
    };
  }

  /** A worker that said it is ready, or undefined where none starts (the caller then decompresses inline). */
  static async start(timeoutMs = 10_000): Promise<DecompressThread | undefined> {
    let worker: Worker;
    try {
      worker = new Worker(new URL("./decompress-worker.ts", import.meta.url).href);
    } catch {
      return undefined;
    }
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      worker.onmessage = (event: MessageEvent) => {
        clearTimeout(timer);
        resolve((event.data as Msg).type === "ready");
      };
      worker.onerror = () => {
        clearTimeout(timer);
        resolve(false);
      };
    });
    if (!ready) {
      worker.terminate();
      return undefined;
    }
    return new DecompressThread(worker);
  }

  stop(): void {
    this.worker.terminate();
    this.sessions.clear();
  }

  /** Start decompressing a layer blob now; its chunks wait (bounded) until read. */
  open(source: ReadableStream<Uint8Array>, mediaType: string, label: string, warn: (msg: string) => void): LayerStream {
    const id = this.nextId++;
    const worker = this.worker;
    const reader = source.getReader();
    const queue: Uint8Array[] = [];
    let pendingInput: Uint8Array[] = [];
    let sourceEnded = false;
    let finished = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    let resolveResult!: (r: { diffId: string; bytes: number }) => void;
    let rejectResult!: (e: Error) => void;
    const result = new Promise<{ diffId: string; bytes: number }>((res, rej) => {
      resolveResult = res;
      rejectResult = rej;
    });
    result.catch(() => {}); // reported through `chunks`
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const fail = (err: Error) => {
      failure ??= err;
      this.sessions.delete(id);
      rejectResult(failure);
      notify();
    };
    let compression: Compression = "none";

    // Compressed input is sent ahead, up to INPUT_IN_FLIGHT bytes the worker has not taken
    // yet: this thread is often busy applying entries for a while and must not leave the
    // worker without input meanwhile.
    let inFlight = 0;
    let feeding = false;
    const feed = async () => {
      if (feeding || failure) return;
      feeding = true;
      try {
        while (inFlight < INPUT_IN_FLIGHT && (pendingInput.length > 0 || !sourceEnded) && !failure) {
          const parts: Uint8Array[] = pendingInput.splice(0);
          let size = parts.reduce((n, p) => n + p.length, 0);
          while (size < INPUT_BATCH && !sourceEnded) {
            const r = await reader.read();
            if (failure) return;
            if (r.done) {
              sourceEnded = true;
              break;
            }
            parts.push(r.value);
            size += r.value.length;
          }
          if (size > 0) {
            const own = new Uint8Array(size); // one buffer the worker can own
            let at = 0;
            for (const p of parts) {
              own.set(p, at);
              at += p.length;
            }
            inFlight += size;
            worker.postMessage({ type: "input", id, chunk: own }, [own.buffer as ArrayBuffer]);
          }
        }
        if (sourceEnded && !endSent && !failure) {
          endSent = true;
          worker.postMessage({ type: "end", id });
        }
      } catch (err) {
        fail(new BuncError("layer", `layer ${label}: reading the blob: ${(err as Error).message}`));
      } finally {
        feeding = false;
      }
    };
    let endSent = false;

    this.sessions.set(id, {
      onMessage: (msg) => {
        if (msg.type === "need") {
          inFlight -= msg.bytes ?? 0;
          void feed();
        }
        else if (msg.type === "output") {
          queue.push(msg.chunk!);
          notify();
        } else if (msg.type === "done") {
          finished = true;
          this.sessions.delete(id);
          resolveResult({ diffId: msg.diffId!, bytes: msg.bytes! });
          notify();
        } else fail(new BuncError("layer", `layer ${label}: ${compression} data is corrupt or truncated: ${msg.message}`));
      },
    });

    const started = (async () => {
      const head = await readHead(reader);
      compression = chooseCompression(head.bytes, mediaType, label, warn);
      pendingInput = head.bytes.length ? [new Uint8Array(head.bytes)] : [];
      sourceEnded = head.ended;
      worker.postMessage({ type: "start", id, compression });
      void feed();
    })().catch((err) => fail(err instanceof BuncError ? err : new BuncError("layer", `layer ${label}: ${(err as Error).message}`)));

    const abort = () => {
      if (!finished) worker.postMessage({ type: "abort", id });
      this.sessions.delete(id);
      finished = true;
      reader.cancel().catch(() => {});
    };

    async function* chunks(): AsyncGenerator<Uint8Array> {
      await started;
      let unacked = 0; // consumed, not yet acknowledged: acks go in batches too
      const ack = () => {
        if (unacked > 0) worker.postMessage({ type: "ack", id, bytes: unacked });
        unacked = 0;
      };
      try {
        for (;;) {
          const c = queue.shift();
          if (c) {
            yield c;
            unacked += c.length;
            if (unacked >= INPUT_BATCH) ack();
            continue;
          }
          if (failure) throw failure;
          if (finished) return;
          ack(); // before waiting: the worker may be paused on these bytes
          await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        if (!finished || failure) abort();
      }
    }

    return { chunks: chunks(), result, abort };
  }
}
