// The decompression thread of the layer unpacker. Bun's node:zlib decompresses on the
// calling thread, so gunzip and the diffID hash would otherwise take turns with applying
// entries; here they run beside it. Protocol (one session per layer, by id):
//   in:  start {id, compression, path?}  input {id, chunk}  end {id}  ack {id, bytes}  abort {id}
//        (with a path, the worker reads the blob file itself and no input messages follow)
//   out: need {id, bytes} (input taken)  output {id, chunk}  done {id, diffId, bytes}  error {id, message}
// The thread stops decompressing while more than HIGH bytes it sent are not yet acked, so
// a bomb or a slow consumer never piles up memory.
import { createGunzip, createZstdDecompress, type Gunzip, type ZstdDecompress } from "node:zlib";
import type { Compression } from "./decompress.ts";

declare const self: Worker;

const HIGH = 8 * 1024 * 1024;
const OUT_CHUNK = 1024 * 1024;

interface Session {
  z: Gunzip | ZstdDecompress | undefined;
  hasher: Bun.CryptoHasher;
  bytes: number;
  unacked: number;
  paused: boolean;
  /** Wakes a file pump waiting for acks (uncompressed layers read from a path). */
  wake?: () => void;
}

const sessions = new Map<number, Session>();
const post = (msg: unknown, transfer: ArrayBuffer[] = []) => self.postMessage(msg, transfer);

function emit(id: number, s: Session, chunk: Uint8Array) {
  s.hasher.update(chunk);
  s.bytes += chunk.length;
  s.unacked += chunk.length;
  // A copy the consumer owns: zlib's output may share its memory with later output.
  const own = new Uint8Array(chunk);
  post({ type: "output", id, chunk: own }, [own.buffer as ArrayBuffer]);
  if (s.unacked > HIGH && s.z && !s.paused) {
    s.paused = true;
    s.z.pause();
  }
}

/** Read the blob file here, so the applying thread spends nothing on input. */
async function pumpFile(id: number, s: Session, path: string) {
  try {
    const reader = Bun.file(path).stream().getReader();
    for (;;) {
      const r = await reader.read();
      if (!sessions.has(id)) return void reader.cancel();
      if (r.done) break;
      if (s.z) {
        if (!s.z.write(r.value)) await new Promise<void>((resolve) => {
          const done = () => {
            s.z!.off("drain", done);
            s.z!.off("close", done);
            resolve();
          };
          s.z!.on("drain", done);
          s.z!.on("close", done);
        });
      } else {
        emit(id, s, r.value);
        while (s.unacked > HIGH && sessions.has(id)) await new Promise<void>((resolve) => (s.wake = resolve));
      }
    }
    if (s.z) s.z.end();
    else finish(id, s);
  } catch (err) {
    sessions.delete(id);
    post({ type: "error", id, message: `reading ${path}: ${(err as Error).message}` });
  }
}

function finish(id: number, s: Session) {
  sessions.delete(id);
  post({ type: "done", id, diffId: `sha256:${s.hasher.digest("hex")}`, bytes: s.bytes });
}

self.onmessage = (event: MessageEvent) => {
  const msg = event.data as { type: string; id: number; compression?: Compression; path?: string; chunk?: Uint8Array; bytes?: number };
  const id = msg.id;
  if (msg.type === "start") {
    const s: Session = { z: undefined, hasher: new Bun.CryptoHasher("sha256"), bytes: 0, unacked: 0, paused: false };
    sessions.set(id, s);
    if (msg.compression !== "none") {
      const z = msg.compression === "gzip" ? createGunzip({ chunkSize: OUT_CHUNK }) : createZstdDecompress({ chunkSize: OUT_CHUNK });
      s.z = z;
      z.on("data", (c: Buffer) => emit(id, s, c));
      z.on("end", () => finish(id, s));
      z.on("error", (err) => {
        sessions.delete(id);
        post({ type: "error", id, message: err.message });
      });
    }
    if (msg.path !== undefined) void pumpFile(id, s, msg.path);
    return;
  }
  const s = sessions.get(id);
  if (!s) return;
  switch (msg.type) {
    case "input":
      // Input is reported taken once zlib has processed it (which waits while output is
      // paused): the sender bounds the compressed bytes not yet taken.
      if (!s.z) {
        emit(id, s, msg.chunk!);
        post({ type: "need", id, bytes: msg.chunk!.length });
      } else {
        const n = msg.chunk!.length;
        s.z.write(msg.chunk!, () => post({ type: "need", id, bytes: n }));
      }
      break;
    case "end":
      if (s.z) s.z.end();
      else finish(id, s);
      break;
    case "ack":
      s.unacked -= msg.bytes!;
      if (s.paused && s.unacked <= HIGH / 2) {
        s.paused = false;
        s.z?.resume();
      }
      if (s.wake && s.unacked <= HIGH / 2) {
        const wake = s.wake;
        s.wake = undefined;
        wake();
      }
      break;
    case "abort":
      sessions.delete(id);
      s.z?.destroy();
      s.wake?.();
      break;
  }
};

post({ type: "ready", id: 0 });
