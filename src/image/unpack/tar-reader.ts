// A streaming tar reader: chunks go in as they come from the decompressor, entries come out
// through a synchronous sink. File data is handed on as subarrays of the input chunks (never
// copied); only a header split across two chunks and the bodies of metadata entries (PAX
// records, GNU long names) are copied.
//
// Formats: ustar (with its name prefix), GNU (long names 'L' and long link names 'K',
// base-256 numbers), PAX extended ('x') and global ('g') headers. Sparse files and
// multi-volume archives are refused. Every header's checksum is checked (the unsigned sum, or
// the signed one some old tars wrote). The archive must not end inside an entry or a header;
// its end-of-archive marker (two zero blocks) may be missing, and so may the padding of its
// last entry's data: umoci 0.4 wrote such layers (Go's tar writer, never closed). A layer cut
// at an entry boundary looks the same: its diffID tells.
//
// Names are bytes in the archive; they are decoded as UTF-8 here (PAX paths are UTF-8 by
// definition). A name that is not valid UTF-8 gets U+FFFD for its invalid bytes: the
// rootfs writer takes names as strings.
import { BuncError } from "../../errors.ts";

export type TarEntryType = "file" | "link" | "symlink" | "char" | "block" | "directory" | "fifo" | "other";

export interface TarHeader {
  /** The entry's path as the archive spells it (PAX path, GNU long name or ustar prefix/name). */
  name: string;
  linkname: string;
  type: TarEntryType;
  /** The type flag as written ("0", "5", …; "" for an old NUL flag). */
  typeflag: string;
  /** Bytes of data that follow (0 for entries that carry none). */
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, with a fraction when a PAX record gives one. */
  mtime: number;
  /** From a PAX record only. */
  atime: number | undefined;
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.* and LIBARCHIVE.xattr.* records, values as bytes; undefined when none. */
  xattrs: Map<string, Uint8Array> | undefined;
}

export interface TarSink {
  /** A new entry. Return true to get its data through data() and then end(). */
  entry(header: TarHeader): boolean;
  data(chunk: Uint8Array): void;
  end(): void;
}

/** A malformed archive; the message names the last entry read or the one that is cut short. */
export class TarFormatError extends BuncError {
  constructor(message: string) {
    super("layer", `not a valid tar stream: ${message}`);
  }
}

const BLOCK = 512;
/** PAX records and GNU long names above this are refused: no real entry needs them. */
export const MAX_META_BYTES = 8 * 1024 * 1024;

const enum State {
  Header,
  Data,
  Meta,
  Pad,
  Zero,
  Done,
}

type Pax = Map<string, string | Uint8Array>;

const TYPES: Record<number, TarEntryType> = {
  0x00: "file",
  0x30: "file",
  0x37: "file", // contiguous file
  0x31: "link",
  0x32: "symlink",
  0x33: "char",
  0x34: "block",
  0x35: "directory",
  0x36: "fifo",
};

/** Types whose size field does not announce data (as Go's archive/tar reads them). */
const HEADER_ONLY = new Set<TarEntryType>(["link", "symlink", "char", "block", "directory", "fifo"]);

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** A NUL-terminated field as a string (UTF-8). */
function str(b: Buffer, start: number, len: number): string {
  let end = start;
  const max = start + len;
  while (end < max && b[end] !== 0) end++;
  return end === start ? "" : b.toString("utf8", start, end);
}

/** A numeric field: octal (space or NUL padded), or base-256 when its top bit is set. NaN if bad. */
export function parseNumber(b: Uint8Array, start: number, len: number): number {
  const end = start + len;
  const first = b[start]!;
  if (first & 0x80) {
    const negative = first === 0xff;
    let v = negative ? 0 : first & 0x7f;
    for (let i = start + 1; i < end; i++) v = v * 256 + (negative ? b[i]! ^ 0xff : b[i]!);
    if (v > Number.MAX_SAFE_INTEGER) return Number.NaN;
    return negative ? -(v + 1) : v;
  }
  let i = start;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return Number.NaN;
    v = v * 8 + (c - 0x30);
    digits++;
  }
  // Only padding is allowed after the digits.
  for (; i < end; i++) if (b[i] !== 0 && b[i] !== 0x20) return Number.NaN;
  return digits === 0 ? 0 : v;
}

/** Whether a header's stored checksum matches its bytes (unsigned sum, or the signed one). */
export function checksumOk(b: Uint8Array, at: number): boolean {
  const stored = parseNumber(b, at + 148, 8);
  if (!Number.isFinite(stored)) return false;
  let unsigned = 8 * 0x20;
  for (let i = at; i < at + 148; i++) unsigned += b[i]!;
  for (let i = at + 156; i < at + BLOCK; i++) unsigned += b[i]!;
  if (unsigned === stored) return true;
  let signed = 8 * 0x20;
  for (let i = at; i < at + 148; i++) signed += (b[i]! << 24) >> 24;
  for (let i = at + 156; i < at + BLOCK; i++) signed += (b[i]! << 24) >> 24;
  return signed === stored;
}

function isZeroBlock(b: Uint8Array, at: number): boolean {
  for (let i = at; i < at + BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * PAX records ("<len> <key>=<value>\n"), xattr values kept as bytes (SCHILY.xattr.* raw,
 * LIBARCHIVE.xattr.* base64-decoded), other values as UTF-8 strings.
 */
export function parsePaxRecords(bytes: Uint8Array, into: Pax = new Map()): Pax {
  const b = asBuffer(bytes);
  let at = 0;
  while (at < b.length) {
    if (b[at] === 0) break; // NUL padding after the last record
    const space = b.indexOf(0x20, at);
    const len = space < 0 ? Number.NaN : Number(b.toString("latin1", at, space));
    if (!Number.isInteger(len) || len <= space - at + 1 || at + len > b.length || b[at + len - 1] !== 0x0a) {
      throw new TarFormatError(`a PAX record at byte ${at} of its header is malformed`);
    }
    const record = b.subarray(space + 1, at + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw new TarFormatError(`a PAX record at byte ${at} of its header has no key`);
    const key = record.toString("utf8", 0, eq);
    const value = record.subarray(eq + 1);
    if (key.startsWith("SCHILY.xattr.")) into.set(key, Uint8Array.from(value));
    else if (key.startsWith("LIBARCHIVE.xattr.")) into.set(key, Uint8Array.from(Buffer.from(value.toString("latin1"), "base64")));
    else into.set(key, value.toString("utf8"));
    at += len;
  }
  return into;
}

export class TarReader {
  private state = State.Header;
  /** Bytes read so far: offsets in messages. */
  private offset = 0;
  private readonly header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private remaining = 0;
  private pad = 0;
  private deliver = false;
  // A metadata entry being collected: its type flag and body.
  private metaType = 0;
  private meta: Buffer = Buffer.alloc(0);
  private metaFill = 0;
  // What metadata entries said about the next entry, and the global PAX records.
  private pax: Pax | undefined;
  private globalPax: Pax | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  private lastName = "";
  /** The last entry's data all came: the archive may end there. */
  private entryComplete = false;

  constructor(private readonly sink: TarSink) {}

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      switch (this.state) {
        case State.Data: {
          const take = Math.min(this.remaining, n - pos);
          if (this.deliver) this.sink.data(chunk.subarray(pos, pos + take));
          pos += take;
          this.offset += take;
          this.remaining -= take;
          if (this.remaining === 0) this.dataDone();
          break;
        }
        case State.Pad: {
          const take = Math.min(this.pad, n - pos);
          pos += take;
          this.offset += take;
          this.pad -= take;
          if (this.pad === 0) this.state = State.Header;
          break;
        }
        case State.Meta: {
          const take = Math.min(this.meta.length - this.metaFill, n - pos);
          this.meta.set(chunk.subarray(pos, pos + take), this.metaFill);
          this.metaFill += take;
          pos += take;
          this.offset += take;
          if (this.metaFill === this.meta.length) this.metaDone();
          break;
        }
        case State.Header:
        case State.Zero: {
          if (this.headerFill === 0 && n - pos >= BLOCK) {
            this.block(asBuffer(chunk), pos);
            pos += BLOCK;
          } else {
            const take = Math.min(BLOCK - this.headerFill, n - pos);
            this.header.set(chunk.subarray(pos, pos + take), this.headerFill);
            this.headerFill += take;
            pos += take;
            if (this.headerFill === BLOCK) {
              this.headerFill = 0;
              this.block(this.header, 0);
            }
          }
          break;
        }
        case State.Done:
          return; // whatever follows the marker (record padding) is ignored
      }
    }
  }

  /** The input ended: throws unless the archive was complete. */
  end(): void {
    switch (this.state) {
      case State.Done:
        return;
      case State.Header:
        if (this.headerFill === 0 && this.offset === 0) return; // an empty layer
        if (this.headerFill === 0 && this.entryComplete) return; // no end-of-archive marker
        if (this.headerFill === 0) throw new TarFormatError(`Unexpected end of data after a PAX or GNU long-name header, before its entry${this.after()}`);
        break;
      case State.Pad:
        if (this.entryComplete) return; // the last entry's data without its padding
        break;
      case State.Data:
        throw new TarFormatError(`Unexpected end of data: entry "${this.lastName}" is cut short, ${this.remaining} of its bytes are missing`);
      case State.Zero:
        if (this.headerFill === 0) throw new TarFormatError(`the archive ends after one zero block: its end-of-archive marker is incomplete`);
        break;
    }
    throw new TarFormatError(`Unexpected end of data inside a header at byte ${this.offset}${this.after()}`);
  }

  private after(): string {
    return this.lastName === "" ? "" : ` (after entry "${this.lastName}")`;
  }

  private block(b: Buffer, at: number): void {
    const headerAt = this.offset;
    this.offset += BLOCK;
    if (b[at] === 0 && isZeroBlock(b, at)) {
      if (this.state === State.Zero) this.state = State.Done;
      else if (this.pax !== undefined || this.longName !== undefined || this.longLink !== undefined) {
        throw new TarFormatError(`the archive ends after a PAX or GNU long-name header without its entry${this.after()}`);
      } else this.state = State.Zero;
      return;
    }
    if (this.state === State.Zero) throw new TarFormatError(`a lone zero block at byte ${headerAt - BLOCK}${this.after()}`);
    if (!checksumOk(b, at)) throw new TarFormatError(`Invalid tar header at byte ${headerAt}: checksum mismatch${this.after()}`);
    this.entryComplete = false;
    const flag = b[at + 156]!;
    const size = parseNumber(b, at + 124, 12);
    if (!Number.isSafeInteger(size) || size < 0) throw new TarFormatError(`Invalid tar header at byte ${headerAt}: size field${this.after()}`);

    // Metadata entries: their body describes the next entry.
    if (flag === 0x78 /* x */ || flag === 0x67 /* g */ || flag === 0x4c /* L */ || flag === 0x4b /* K */) {
      if (size > MAX_META_BYTES) throw new TarFormatError(`a metadata entry of ${size} bytes at byte ${headerAt} is larger than ${MAX_META_BYTES}${this.after()}`);
      this.metaType = flag;
      this.meta = Buffer.allocUnsafe(size);
      this.metaFill = 0;
      this.remaining = size;
      if (size === 0) this.metaDone();
      else this.state = State.Meta;
      return;
    }

    const ustar = b[at + 257] === 0x75 && b[at + 258] === 0x73 && b[at + 259] === 0x74 && b[at + 260] === 0x61 && b[at + 261] === 0x72;
    const posix = ustar && b[at + 262] === 0; // "ustar\0": POSIX, with a name prefix; "ustar ": GNU
    let name = this.longName ?? str(b, at, 100);
    if (this.longName === undefined && posix && b[at + 345] !== 0) name = `${str(b, at + 345, 155)}/${name}`;
    let linkname = this.longLink ?? str(b, at + 157, 100);
    const type = TYPES[flag] ?? "other";
    if (flag === 0x53 /* S */) throw new TarFormatError(`entry "${name}": sparse files are not supported`);
    if (flag === 0x4d /* M */) throw new TarFormatError(`entry "${name}": multi-volume archives are not supported`);
    const header: TarHeader = {
      name,
      linkname,
      type,
      typeflag: flag === 0 ? "" : String.fromCharCode(flag),
      size,
      mode: parseNumber(b, at + 100, 8),
      uid: parseNumber(b, at + 108, 8),
      gid: parseNumber(b, at + 116, 8),
      mtime: parseNumber(b, at + 136, 12),
      atime: undefined,
      devmajor: ustar ? parseNumber(b, at + 329, 8) : 0,
      devminor: ustar ? parseNumber(b, at + 337, 8) : 0,
      xattrs: undefined,
    };
    if (this.globalPax !== undefined) this.applyPax(header, this.globalPax, false, headerAt);
    if (this.pax !== undefined) this.applyPax(header, this.pax, true, headerAt);
    this.pax = undefined;
    this.longName = undefined;
    this.longLink = undefined;
    name = header.name;
    linkname = header.linkname;
    this.lastName = name;
    if (!Number.isFinite(header.mode)) throw new TarFormatError(`entry "${name}": invalid mode field`);
    if (!Number.isFinite(header.uid) || !Number.isFinite(header.gid)) throw new TarFormatError(`entry "${name}": invalid uid or gid field`);
    if (!Number.isFinite(header.mtime)) header.mtime = 0;
    if (!Number.isFinite(header.devmajor) || !Number.isFinite(header.devminor)) throw new TarFormatError(`entry "${name}": invalid device number field`);

    // Pre-POSIX tars wrote directories with the NUL flag and a name ending in "/" (as Go's
    // archive/tar reads them; a "0" entry so named stays a file). Its size still counts.
    if (flag === 0 && name.endsWith("/")) header.type = "directory";
    const dataSize = HEADER_ONLY.has(type) ? 0 : header.size;
    header.size = dataSize;
    this.deliver = this.sink.entry(header);
    this.remaining = dataSize;
    this.pad = (BLOCK - (dataSize % BLOCK)) % BLOCK;
    if (dataSize === 0) this.dataDone();
    else this.state = State.Data;
  }

  /** PAX records over the header's fields; a global path, link path or size is ignored. */
  private applyPax(header: TarHeader, pax: Pax, local: boolean, headerAt: number): void {
    for (const [key, value] of pax) {
      if (typeof value !== "string") {
        const name = key.startsWith("SCHILY.xattr.") ? key.slice(13) : this.libarchiveXattrName(key.slice(17), header.name);
        (header.xattrs ??= new Map()).set(name, value);
        continue;
      }
      switch (key) {
        case "path":
          if (local) header.name = value;
          break;
        case "linkpath":
          if (local) header.linkname = value;
          break;
        case "size": {
          if (!local) break;
          const size = /^\d+$/.test(value) ? Number(value) : Number.NaN;
          if (!Number.isSafeInteger(size)) throw new TarFormatError(`entry "${header.name}": PAX size ${JSON.stringify(value)} at byte ${headerAt} is not a valid size`);
          header.size = size;
          break;
        }
        case "uid":
        case "gid":
          // The range is the caller's to check.
          if (!/^\d+$/.test(value)) throw new TarFormatError(`entry "${header.name}": PAX ${key} ${JSON.stringify(value)} is not a number`);
          header[key] = Number(value);
          break;
        case "mtime": {
          const t = Number(value);
          if (value !== "" && Number.isFinite(t)) header.mtime = t;
          break;
        }
        case "atime": {
          const t = Number(value);
          if (value !== "" && Number.isFinite(t)) header.atime = t;
          break;
        }
        default:
          if (key.startsWith("GNU.sparse.")) throw new TarFormatError(`entry "${header.name}": sparse files are not supported`);
      }
    }
  }

  private libarchiveXattrName(encoded: string, entry: string): string {
    try {
      return decodeURIComponent(encoded);
    } catch {
      throw new TarFormatError(`entry "${entry}": LIBARCHIVE.xattr name ${JSON.stringify(encoded)} is not URL-encoded`);
    }
  }

  private metaDone(): void {
    const body = this.meta;
    this.meta = Buffer.alloc(0);
    switch (this.metaType) {
      case 0x78:
        this.pax = parsePaxRecords(body);
        break;
      case 0x67:
        this.globalPax = parsePaxRecords(body);
        break;
      case 0x4c:
        this.longName = str(body, 0, body.length);
        break;
      case 0x4b:
        this.longLink = str(body, 0, body.length);
        break;
    }
    this.pad = (BLOCK - (body.length % BLOCK)) % BLOCK;
    this.state = this.pad === 0 ? State.Header : State.Pad;
  }

  private dataDone(): void {
    if (this.deliver) this.sink.end();
    this.entryComplete = true;
    this.state = this.pad === 0 ? State.Header : State.Pad;
  }
}
