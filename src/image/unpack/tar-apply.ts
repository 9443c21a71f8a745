// One layer's tar stream applied to the rootfs: tar-stream parses, RootfsWriter applies.
// The uncompressed bytes are counted on the way in: a size limit stops a decompression bomb.
import { extract, type Header } from "tar-stream";
import { BuncError } from "../../errors.ts";
import { classifyEntry, cleanKey, inRootPath } from "./entry-path.ts";
import { entryError, type EntryMeta, type RootfsWriter } from "./rootfs-writer.ts";

export interface TarLimits {
  maxBytes: number;
  maxEntries: number;
}

export interface TarCounts {
  entries: number;
  bytes: number;
  whiteouts: number;
}

type Pax = Record<string, string | Uint8Array>;

/**
 * PAX records with the values of xattr records kept as bytes: tar-stream decodes every
 * value as UTF-8, which would mangle binary xattrs such as security.capability.
 */
export function decodePaxRecords(buf: Uint8Array): Pax {
  const out: Pax = {};
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  while (at < b.length) {
    const space = b.indexOf(0x20, at);
    if (space < 0) break;
    const len = Number.parseInt(b.toString("latin1", at, space), 10);
    if (!(len > 0) || at + len > b.length) break;
    const record = b.subarray(space + 1, at + len - 1); // without the trailing newline
    const eq = record.indexOf(0x3d);
    if (eq > 0) {
      const key = record.toString("utf8", 0, eq);
      const value = record.subarray(eq + 1);
      if (key.startsWith("SCHILY.xattr.")) out[key] = Uint8Array.from(value);
      else if (key.startsWith("LIBARCHIVE.xattr.")) out[key] = Uint8Array.from(Buffer.from(value.toString("latin1"), "base64"));
      else out[key] = value.toString("utf8");
    }
    at += len;
  }
  return out;
}

interface ExtractInternals {
  _header: Header;
  _pax: Pax | null;
  _paxGlobal: Pax | null;
  _decodeLongHeader(buf: Uint8Array): void;
}

/** An extract() whose PAX decoding keeps binary xattr values (tar-stream 3.x internals). */
function extractKeepingXattrBytes() {
  const ex = extract();
  const internals = ex as unknown as ExtractInternals;
  const original = internals._decodeLongHeader.bind(ex);
  internals._decodeLongHeader = (buf: Uint8Array) => {
    const type: string | null | undefined = internals._header.type;
    if (type === "pax-header") internals._pax = { ...(internals._paxGlobal ?? {}), ...decodePaxRecords(buf) };
    else if (type === "pax-global-header") internals._paxGlobal = decodePaxRecords(buf);
    else original(buf);
  };
  return ex;
}

const MAX_ID = 0xfffffffe;

function idOf(header: Header, pax: Pax, field: "uid" | "gid", entry: string): number {
  const fromPax = pax[field];
  const id = typeof fromPax === "string" ? Number(fromPax) : (header[field] ?? 0);
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) throw entryError(entry, `${field} ${String(fromPax ?? header[field])} is not a valid id`);
  return id;
}

function timeOf(value: string | Uint8Array | undefined, fallback: number): number {
  const t = typeof value === "string" ? Number(value) : Number.NaN;
  return Number.isFinite(t) ? t : fallback;
}

function metaOf(header: Header, entry: string): EntryMeta {
  const pax = ((header as { pax?: Pax }).pax ?? {}) as Pax;
  const headerTime = header.mtime instanceof Date ? header.mtime.getTime() / 1000 : 0;
  const mtime = timeOf(pax.mtime, Number.isFinite(headerTime) ? headerTime : 0);
  const xattrs = new Map<string, Uint8Array>();
  for (const [key, value] of Object.entries(pax)) {
    const name = key.startsWith("SCHILY.xattr.") ? key.slice(13) : key.startsWith("LIBARCHIVE.xattr.") ? decodeURIComponent(key.slice(17)) : undefined;
    if (name === undefined) continue;
    xattrs.set(name, typeof value === "string" ? Buffer.from(value) : value);
  }
  return {
    mode: (header.mode ?? 0o644) & 0o7777,
    uid: idOf(header, pax, "uid", entry),
    gid: idOf(header, pax, "gid", entry),
    mtime,
    atime: timeOf(pax.atime, mtime),
    xattrs,
  };
}

/** Apply every entry of one layer's tar stream. */
export async function applyTar(chunks: AsyncIterable<Uint8Array>, writer: RootfsWriter, limits: TarLimits, warn: (msg: string) => void): Promise<TarCounts> {
  const counts: TarCounts = { entries: 0, bytes: 0, whiteouts: 0 };
  const ex = extractKeepingXattrBytes();
  let failure: unknown;
  let openFile = -1;
  // The file entry being written: its size and the bytes it got so far.
  let lastFile: { size: number; got: number } | undefined;
  const fail = (err: unknown) => {
    failure ??= err;
    ex.destroy(err as Error);
  };
  const closed = new Promise<void>((resolve) => ex.on("close", resolve));
  ex.on("error", fail);

  ex.on("entry", (header, stream, next) => {
    const drain = () => {
      stream.on("end", next);
      stream.resume();
    };
    // An entry stream is destroyed with the extract on failure: its error is ours already.
    stream.on("error", () => {});
    if (failure !== undefined) return;
    lastFile = undefined;
    const entry = header.name;
    try {
      if (++counts.entries > limits.maxEntries) throw new BuncError("layer", `more than ${limits.maxEntries} entries`);
      const target = classifyEntry(entry);
      switch (target.kind) {
        case "invalid":
          throw entryError(entry, target.why);
        case "aufs-meta":
          warn(`entry "${entry}": aufs metadata skipped`);
          return drain();
        case "opaque":
          counts.whiteouts++;
          writer.opaqueDir(target.dir);
          return drain();
        case "whiteout":
          counts.whiteouts++;
          writer.whiteout(target.dir, target.name, entry);
          return drain();
      }
      const parts = target.path;
      switch (header.type) {
        case "file":
        case "contiguous-file": {
          const meta = metaOf(header, entry);
          const fd = writer.beginFile(parts, meta, entry);
          openFile = fd;
          const progress = (lastFile = { size: header.size ?? 0, got: 0 });
          stream.on("data", (data: unknown) => {
            const chunk = data as Uint8Array;
            progress.got += chunk.length;
            if (failure !== undefined) return;
            try {
              writer.writeFile(fd, chunk);
            } catch (err) {
              fail(entryError(entry, `write: ${(err as Error).message}`));
            }
          });
          stream.on("end", () => {
            if (failure !== undefined) return;
            openFile = -1;
            try {
              writer.endFile(fd, meta, entry);
            } catch (err) {
              return fail(err);
            }
            next();
          });
          stream.resume();
          return;
        }
        case "directory":
          writer.directory(parts, metaOf(header, entry), entry);
          return drain();
        case "symlink":
          writer.symlink(parts, header.linkname ?? "", metaOf(header, entry), entry);
          return drain();
        case "link":
          writer.hardlink(parts, inRootPath(cleanKey(header.linkname ?? "")), entry, header.linkname ?? "");
          return drain();
        case "character-device":
        case "block-device":
        case "fifo": {
          const kind = header.type === "fifo" ? "fifo" : header.type === "block-device" ? "block" : "char";
          writer.special(parts, kind, header.devmajor ?? 0, header.devminor ?? 0, metaOf(header, entry), entry);
          return drain();
        }
        default:
          warn(`entry "${entry}": tar entry type ${String(header.type)} not supported: skipped`);
          return drain();
      }
    } catch (err) {
      fail(err);
    }
  });

  // Some producers (umoci 0.4) end a layer right after the last file's data, without the
  // padding to 512 bytes (and without the end-of-archive blocks, which tar-stream does not
  // need). When that file got all its bytes, the missing padding is supplied: nothing is
  // lost. A file cut short is left for the parser to report.
  const padLastRecord = async () => {
    await new Promise((resolve) => setImmediate(resolve)); // let the parser hand out what it has
    const rem = counts.bytes % 512;
    if (rem !== 0 && lastFile !== undefined && lastFile.got === lastFile.size) ex.write(Buffer.alloc(512 - rem));
  };
  try {
    for await (const chunk of chunks) {
      counts.bytes += chunk.length;
      if (counts.bytes > limits.maxBytes) throw new BuncError("layer", `uncompressed size exceeds the limit of ${limits.maxBytes} bytes`);
      if (failure !== undefined) break;
      if (!ex.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            ex.off("drain", done);
            ex.off("close", done);
            resolve();
          };
          ex.on("drain", done);
          ex.on("close", done);
        });
      }
      if (failure !== undefined) break;
    }
    if (failure === undefined) await padLastRecord();
    if (failure === undefined) ex.end(undefined as never);
    await closed;
    if (failure !== undefined) throw failure;
    return counts;
  } catch (err) {
    if (!ex.destroyed) ex.destroy(err as Error);
    throw err;
  } finally {
    if (openFile >= 0) writer.endFileQuietly(openFile);
  }
}
