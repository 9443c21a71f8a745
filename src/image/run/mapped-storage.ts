// The CLI's side of the storage stage (runtime/stages/storage-stage.ts): unpack, copy and
// remove image trees whose owners are the caller's sub-ids, as root of a user namespace with
// the caller's wide maps. One stage serves every operation of a command; it is started on
// the first and ends with close().
//
//   const storage = new MappedStorage(wideIdMaps(uid, gid)!);
//   try { await storage.unpack(staging, image); storage.copy(tree, rootfs) } finally { storage.close() }
import type { Subprocess } from "bun";
import { rmSync } from "node:fs";
import { closeFd, sendSignal, socketPair } from "../../../ffi/io.ts";
import { linuxSys } from "../../../ffi/sys.ts";
import { BuncError, messageOf } from "../../errors.ts";
import { log } from "../../log.ts";
import { wideIdMaps, type IdMaps } from "../../linux/subids.ts";
import { writeIdMaps } from "../../linux/user-namespace.ts";
import { expect, receiveChecked, send, type Message } from "../../runtime/stages/channel.ts";
import { readOnlySelf } from "../../runtime/stages/readonly-self.ts";
import { stageCommand, stageEnv } from "../../runtime/stages/stage-env.ts";
import type { StorageOp } from "../../runtime/stages/storage-stage.ts";
import { verifyingStream } from "../digest.ts";
import type { ResolvedImage } from "../resolve.ts";

const STAGE_TIMEOUT_MS = 10_000;

/** An owner of the image the maps leave out: the unpack stopped there. */
export interface TooNarrow {
  uid: number;
  gid: number;
  entry: string;
}

export class MappedStorage {
  private child: Subprocess<"pipe", "ignore", "inherit"> | undefined;
  private sock = -1;

  constructor(readonly maps: IdMaps) {}

  /** Starts the stage if it is not running; false (with a warning) when its maps cannot be set. */
  tryStart(): boolean {
    try {
      this.start();
      return true;
    } catch (err) {
      log("warning", `cannot map your sub-ids for the image's owners: ${messageOf(err)}`);
      return false;
    }
  }

  /** Makes the namespace and sets its maps, then ends the stage: what `bunc doctor` tries. */
  probe(): void {
    try {
      this.start();
    } finally {
      this.close();
    }
  }

  private start(): void {
    if (this.child) return;
    const [cliSock, stageSock] = socketPair();
    this.sock = cliSock;
    let exeFd = -1;
    try {
      exeFd = readOnlySelf(linuxSys);
      // stdin carries layer bytes; the socket is fd 3, our own read-only binary fd 4.
      this.child = Bun.spawn({ cmd: stageCommand(4), env: stageEnv("storage", 3), stdio: ["pipe", "ignore", "inherit", stageSock, exeFd] as never, cwd: "/" }) as Subprocess<"pipe", "ignore", "inherit">;
      expect(cliSock, "userns-ready", "the storage stage to make its user namespace", STAGE_TIMEOUT_MS);
      writeIdMaps(this.child.pid, this.maps.uidMappings, this.maps.gidMappings);
      send(cliSock, { type: "maps-written" });
    } catch (err) {
      if (this.child) sendSignal(this.child.pid, 9);
      this.close();
      throw err;
    } finally {
      closeFd(stageSock);
      if (exeFd >= 0) closeFd(exeFd);
    }
  }

  private call(op: StorageOp, what: string): Message {
    this.start();
    send(this.sock, op as never);
    return receiveChecked(this.sock, what);
  }

  /**
   * Applies the image's layers into `dir` in the stage, the bytes checked against their
   * digests on the way. Returns the first owner the maps leave out, if one stopped it.
   */
  async unpack(dir: string, image: ResolvedImage): Promise<TooNarrow | undefined> {
    this.start();
    const layers = image.layers.map(({ digest, mediaType, size, diffId }) => ({ digest, mediaType, size, diffId }));
    send(this.sock, { type: "op", op: "unpack", dir, layers } as never);
    const sink = this.child!.stdin;
    let sendError: unknown;
    try {
      for (const [i, layer] of image.layers.entries()) {
        for await (const chunk of verifyingStream(layer.open(), layer.digest, layer.size, `layer ${i + 1} (${layer.digest})`)) {
          sink.write(chunk);
          await sink.flush();
        }
      }
    } catch (err) {
      sendError = err;
    }
    try {
      await sink.end();
    } catch {}
    let reply: Message;
    try {
      reply = receiveChecked(this.sock, "the storage stage to unpack the image");
    } catch (err) {
      // A layer that failed its check is the cause; the stage only saw its bytes stop.
      throw sendError instanceof BuncError ? sendError : err;
    }
    if (sendError) throw sendError;
    if (reply.type === "too-narrow") return { uid: Number(reply.uid), gid: Number(reply.gid), entry: String(reply.entry) };
    for (const warning of (reply.warnings as string[] | undefined) ?? []) log("warning", warning);
    return undefined;
  }

  /** `cp -a` of `from` to `to` (which must not exist), in the stage. */
  copy(from: string, to: string): void {
    this.call({ type: "op", op: "copy", from, to }, `the storage stage to copy ${from}`);
  }

  remove(path: string): void {
    this.call({ type: "op", op: "remove", path }, `the storage stage to remove ${path}`);
  }

  close(): void {
    if (this.sock >= 0) {
      try {
        send(this.sock, { type: "op", op: "exit" });
      } catch {}
      closeFd(this.sock);
      this.sock = -1;
    }
    if (this.child && this.child.exitCode === null) {
      // It exits on {exit} or on the closed socket; a stage stuck elsewhere is killed.
      const child = this.child;
      const timer = setTimeout(() => sendSignal(child.pid, 9), STAGE_TIMEOUT_MS);
      child.exited.then(() => clearTimeout(timer));
      child.unref();
    }
    this.child = undefined;
  }
}

/**
 * rm -rf that also works on trees the caller's sub-ids own (a mapped image tree, a container
 * rootfs copied from one): tried as the caller first, then as root of a namespace mapping
 * them. `storage` is used when given, else one is started for this removal.
 */
export function removeTree(path: string, storage?: MappedStorage): void {
  try {
    rmSync(path, { recursive: true, force: true });
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code !== "EACCES" && code !== "EPERM") || process.geteuid!() === 0) throw err;
    const maps = storage?.maps ?? wideIdMaps(process.geteuid!(), process.getegid!());
    if (!maps) throw new BuncError("system", `cannot remove ${path}: ${messageOf(err)}; files there belong to sub-ids that /etc/subuid and /etc/subgid no longer give you: ask root to remove it`);
    const stage = storage ?? new MappedStorage(maps);
    try {
      stage.remove(path);
    } finally {
      if (!storage) stage.close();
    }
  }
}
