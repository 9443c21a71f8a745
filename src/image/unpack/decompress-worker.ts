// The decompression thread of the layer unpacker. Bun's node:zlib decompresses on the
// calling thread, so gunzip and the diffID hash would otherwise take turns with applying
// entries; here they run beside it. Protocol (one session per layer, by id):
//   in:  start {id, compression}  input {id, chunk}  end {id}  ack {id, bytes}  abort {id}
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

function finish(id: number, s: Session) {
  sessions.delete(id);
  post({ type: "done", id, diffId: `sha256:${s.hasher.digest("hex")}`, bytes: s.bytes });
}

self.onmessage = (event: MessageEvent) => {
  const msg = event.data as { type: string; id: number; compression?: Compression; chunk?: Uint8Array; bytes?: number };
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
      break;
    case "abort":
      sessions.delete(id);
      s.z?.destroy();
      break;
  }
};

post({ type: "ready", id: 0 });
