// The storage stage: file work on the image trees of a rootless `run --image` whose owners are
// the caller's sub-ids. A user may not chown to its sub-ids, nor write into or remove what
// they own; root of a user namespace that maps them may, and over nothing else. So the
// unpack, the copy for a container and the removal of such trees happen here, in a
// single-threaded stage that makes that namespace (threads may start once it is made).
//
//   CLI                                      storage stage
//                                            unshare(user)
//   ◀── {userns-ready} ─────────────────
//   newuidmap/newgidmap
//   ─── {maps-written} ─────────────────▶   root in the namespace
//   ─── {op: "unpack", dir, layers} ────▶   each layer's raw bytes from stdin, in order
//       (layer bytes on stdin, checked        ◀── {done, warnings} | {too-narrow, uid, gid,
//        against their digests as sent)           entry} | {error}
//   ─── {op: "copy", from, to} ─────────▶   ◀── {done} | {error}
//   ─── {op: "remove", path} ───────────▶   ◀── {done} | {error}
//   ─── {op: "exit"} ───────────────────▶   exits (as it does when the socket closes)
//
// Warnings travel in the {done} message, capped: a stage blocked sending them while the CLI
// blocks writing layer bytes would wait forever.
import { closeSync, readSync, rmSync } from "node:fs";
import { CLONE, PR } from "../../../ffi/constants.ts";
import { waitReadable } from "../../../ffi/io.ts";
import { linuxSys, type Sys } from "../../../ffi/sys.ts";
import { BuncError, messageOf } from "../../errors.ts";
import { copyTree } from "../../image/run/copy-tree.ts";
import { UnmappedOwnerError } from "../../image/unpack/rootless-owner.ts";
import { unpackLayers } from "../../image/unpack/unpack-layers.ts";
import { expect, receive, send, type Message } from "./channel.ts";
import { assertSingleThreaded, STAGE_FD_VAR } from "./stage-env.ts";

export interface StorageLayer {
  digest: string;
  mediaType: string;
  size: number;
  diffId: string;
}

export type StorageOp =
  | { type: "op"; op: "unpack"; dir: string; layers: StorageLayer[] }
  | { type: "op"; op: "copy"; from: string; to: string }
  | { type: "op"; op: "remove"; path: string }
  | { type: "op"; op: "exit" };

export const MAX_STAGE_WARNINGS = 100;

const errorOf = (err: unknown): Message => ({ type: "error", message: messageOf(err), code: err instanceof BuncError ? err.code : "stage", errno: err instanceof BuncError ? err.errno : undefined });

export async function runStorageStage(sys: Sys = linuxSys): Promise<never> {
  const fd = Number(process.env[STAGE_FD_VAR] ?? 3);
  try {
    assertSingleThreaded("storage");
    sys.unshare(CLONE.NEWUSER);
    // Dumpable (to our own user) until the maps are written: the helpers need our /proc files.
    send(fd, { type: "userns-ready" });
    expect(fd, "maps-written", "the CLI to write the id maps");
    sys.prctl(PR.SET_DUMPABLE, 0);
    sys.setresgid(0);
    sys.setresuid(0);
    // The caller's other groups are not mapped: keep none (refused when setgroups is denied).
    try {
      sys.setgroups([]);
    } catch {}
  } catch (err) {
    try {
      send(fd, errorOf(err));
    } catch {}
    process.exit(1);
  }
  for (;;) {
    let op: StorageOp;
    try {
      op = receive(fd, "storage op") as unknown as StorageOp;
    } catch {
      process.exit(0); // the CLI is gone
    }
    if (op.op === "exit") process.exit(0);
    try {
      send(fd, await perform(op));
    } catch (err) {
      if (err instanceof UnmappedOwnerError) send(fd, { type: "too-narrow", uid: err.uid, gid: err.gid, entry: err.entry });
      else send(fd, errorOf(err));
    }
  }
}

async function perform(op: Exclude<StorageOp, { op: "exit" }>): Promise<Message> {
  switch (op.op) {
    case "unpack": {
      const warnings: string[] = [];
      let dropped = 0;
      const onWarning = (msg: string) => (warnings.length < MAX_STAGE_WARNINGS ? warnings.push(msg) : dropped++);
      try {
        await unpackLayers(op.dir, op.layers.map((l) => ({ ...l, open: () => stdinSlice(l.size, l.digest) })), { onWarning, inUserNamespace: true });
      } finally {
        // One unpack a stage: a CLI still writing layer bytes stops at once.
        closeSync(0);
      }
      if (dropped) warnings.push(`${dropped} more warning(s) like these`);
      return { type: "done", warnings };
    }
    case "copy":
      copyTree(op.from, op.to);
      return { type: "done" };
    case "remove":
      rmSync(op.path, { recursive: true, force: true });
      return { type: "done" };
  }
}

/** The next `size` bytes of stdin: one layer's blob as the CLI sends it. */
function stdinSlice(size: number, digest: string): ReadableStream<Uint8Array> {
  let left = size;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (left === 0) return controller.close();
      const buf = Buffer.allocUnsafe(Math.min(left, 1 << 20));
      for (;;) {
        let n: number;
        try {
          n = readSync(0, buf, 0, buf.length, null);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== "EAGAIN" && code !== "EINTR") throw err;
          waitReadable(0, 1000);
          continue;
        }
        if (n === 0) return controller.error(new BuncError("layer", `layer ${digest}: the runtime stopped sending it ${left} bytes before its end`));
        left -= n;
        return controller.enqueue(buf.subarray(0, n));
      }
    },
  });
}
