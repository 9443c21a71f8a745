import { describe, expect, test } from "bun:test";
import { pack } from "tar-stream";
import { checksumOk, parseNumber, TarFormatError, type TarHeader, TarReader } from "./tar-reader.ts";

interface Got {
  header: TarHeader;
  data: Buffer;
}

/** Read `archive` fed in chunks of `chunk` bytes (all at once when 0). */
function read(archive: Uint8Array, chunk = 0): Got[] {
  const got: Got[] = [];
  let parts: Buffer[] = [];
  const reader = new TarReader({
    entry(header) {
      got.push({ header, data: Buffer.alloc(0) });
      parts = [];
      return true;
    },
    data(c) {
      parts.push(Buffer.from(c));
    },
    end() {
      got[got.length - 1]!.data = Buffer.concat(parts);
    },
  });
  if (chunk === 0) reader.push(archive);
  else for (let i = 0; i < archive.length; i += chunk) reader.push(archive.subarray(i, i + chunk));
  reader.end();
  return got;
}

function readError(archive: Uint8Array): Error {
  try {
    read(archive);
  } catch (err) {
    return err as Error;
  }
  throw new Error("the archive was read without an error");
}

async function tarStream(entries: { header: Record<string, unknown>; body?: string | Buffer }[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => p.on("end", () => resolve()));
  for (const e of entries) p.entry(e.header as never, e.body as never);
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

interface RawHeader {
  name?: string | Buffer;
  type?: string;
  size?: number;
  mode?: number;
  uid?: number | Buffer;
  linkname?: string;
  magic?: "posix" | "gnu" | "v7";
  prefix?: string;
  sizeField?: Buffer;
  signedChecksum?: boolean;
  badChecksum?: boolean;
}

function octal(n: number, len: number): string {
  return `${n.toString(8).padStart(len - 1, "0")}\0`;
}

/** One header block written by hand, for what tar-stream does not write. */
function header(h: RawHeader): Buffer {
  const b = Buffer.alloc(512);
  (typeof h.name === "string" ? Buffer.from(h.name) : (h.name ?? Buffer.from("f"))).copy(b, 0);
  b.write(octal(h.mode ?? 0o644, 8), 100, "latin1");
  if (Buffer.isBuffer(h.uid)) h.uid.copy(b, 108);
  else b.write(octal(h.uid ?? 0, 8), 108, "latin1");
  b.write(octal(0, 8), 116, "latin1");
  if (h.sizeField) h.sizeField.copy(b, 124);
  else b.write(octal(h.size ?? 0, 12), 124, "latin1");
  b.write(octal(1_700_000_000, 12), 136, "latin1");
  b.write(h.type ?? "0", 156, "latin1");
  if (h.linkname) b.write(h.linkname, 157);
  const magic = h.magic ?? "posix";
  if (magic === "posix") b.write("ustar\x0000", 257, "latin1");
  if (magic === "gnu") b.write("ustar  \0", 257, "latin1");
  if (h.prefix) b.write(h.prefix, 345);
  let sum = 8 * 0x20;
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += h.signedChecksum ? (b[i]! << 24) >> 24 : b[i]!;
  if (h.badChecksum) sum += 1;
  b.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return b;
}

function body(content: string | Buffer): Buffer {
  const c = Buffer.from(content);
  return Buffer.concat([c, Buffer.alloc((512 - (c.length % 512)) % 512)]);
}

function paxBody(records: [string, string | Buffer][]): Buffer {
  const out: Buffer[] = [];
  for (const [k, v] of records) {
    const rest = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from("\n")]);
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len++;
    out.push(Buffer.from(String(len)), rest);
  }
  return Buffer.concat(out);
}

const END = Buffer.alloc(1024);

describe("TarReader", () => {
  test("ustar entries of every kind, with their fields, whatever the chunk sizes", async () => {
    const archive = await tarStream([
      { header: { name: "dir", type: "directory", mode: 0o750, uid: 1000, gid: 1001, mtime: new Date(1_600_000_000_000) } },
      { header: { name: "dir/file", mode: 0o4755, size: 1500 }, body: Buffer.alloc(1500, 7) },
      { header: { name: "dir/empty", size: 0 }, body: "" },
      { header: { name: "link", type: "symlink", linkname: "dir/file" } },
      { header: { name: "hard", type: "link", linkname: "dir/file" } },
      { header: { name: "null", type: "character-device", devmajor: 1, devminor: 3 } },
      { header: { name: "pipe", type: "fifo" } },
    ]);
    for (const chunk of [0, 1, 7, 511, 512, 513, 4096]) {
      const got = read(archive, chunk);
      expect(got.map((g) => [g.header.name, g.header.type])).toEqual([
        ["dir", "directory"],
        ["dir/file", "file"],
        ["dir/empty", "file"],
        ["link", "symlink"],
        ["hard", "link"],
        ["null", "char"],
        ["pipe", "fifo"],
      ]);
      const [dir, file, , link, hard, dev] = got;
      expect([dir!.header.mode, dir!.header.uid, dir!.header.gid, dir!.header.mtime]).toEqual([0o750, 1000, 1001, 1_600_000_000]);
      expect(file!.header.mode).toBe(0o4755);
      expect(file!.data.equals(Buffer.alloc(1500, 7))).toBe(true);
      expect(link!.header.linkname).toBe("dir/file");
      expect(hard!.header.linkname).toBe("dir/file");
      expect([dev!.header.devmajor, dev!.header.devminor]).toEqual([1, 3]);
    }
  });

  test("file data comes as subarrays of the chunks pushed, not copies", () => {
    const archive = Buffer.concat([header({ name: "f", size: 3000 }), body(Buffer.alloc(3000, 1)), END]);
    const seen: Uint8Array[] = [];
    const reader = new TarReader({ entry: () => true, data: (c) => seen.push(c), end: () => {} });
    reader.push(archive);
    reader.end();
    expect(seen.length).toBe(1);
    expect(seen[0]!.buffer).toBe(archive.buffer);
    expect(seen[0]!.length).toBe(3000);
  });

  test("a ustar prefix is joined to the name; a GNU header has none", () => {
    const posix = read(Buffer.concat([header({ name: "name", prefix: "some/prefix" }), END]));
    expect(posix[0]!.header.name).toBe("some/prefix/name");
    const gnu = read(Buffer.concat([header({ name: "name", prefix: "ignored", magic: "gnu" }), END]));
    expect(gnu[0]!.header.name).toBe("name");
  });

  test("GNU long names and long link names ('L', 'K')", () => {
    const long = `${"d".repeat(150)}/${"n".repeat(150)}`;
    const target = "t".repeat(200);
    const archive = Buffer.concat([
      header({ name: "././@LongLink", type: "L", size: long.length + 1, magic: "gnu" }),
      body(`${long}\0`),
      header({ name: "././@LongLink", type: "K", size: target.length, magic: "gnu" }),
      body(target),
      header({ name: long.slice(0, 99), type: "2", magic: "gnu" }),
      header({ name: "short", magic: "gnu" }),
      END,
    ]);
    const got = read(archive, 100);
    expect(got.map((g) => [g.header.name, g.header.linkname])).toEqual([
      [long, target],
      ["short", ""],
    ]);
  });

  test("base-256 numbers for sizes and ids; a negative size is refused", () => {
    const size = Buffer.alloc(12);
    size[0] = 0x80;
    size.writeUInt32BE(1000, 8);
    const uid = Buffer.alloc(8);
    uid[0] = 0x80;
    uid.writeUInt32BE(3_000_000_000, 4);
    const got = read(Buffer.concat([header({ name: "big", sizeField: size, uid }), body(Buffer.alloc(1000, 2)), END]));
    expect(got[0]!.header.size).toBe(1000);
    expect(got[0]!.header.uid).toBe(3_000_000_000);
    expect(got[0]!.data.length).toBe(1000);
    expect(parseNumber(Buffer.from([0xff, 0xff, 0xff, 0xfe]), 0, 4)).toBe(-2);
    expect(readError(Buffer.concat([header({ name: "neg", sizeField: Buffer.alloc(12, 0xff) }), END])).message).toMatch(/size field/);
  });

  test("PAX records: path, linkpath, size, ids, times with fractions, binary and base64 xattrs", () => {
    const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0x0a, 0x00, 0x00]);
    const pax = paxBody([
      ["path", "päth/ünïcode-name"],
      ["linkpath", "tärget"],
      ["uid", "4000000000"],
      ["gid", "70000"],
      ["mtime", "1700000000.25"],
      ["atime", "1600000000.5"],
      ["uname", "someone"],
      ["SCHILY.xattr.security.capability", cap],
      ["LIBARCHIVE.xattr.user.sp%20ace", Buffer.from("hello").toString("base64")],
    ]);
    const archive = Buffer.concat([header({ name: "PaxHeader", type: "x", size: pax.length }), body(pax), header({ name: "short", type: "2" }), END]);
    const [got] = read(archive, 300);
    const h = got!.header;
    expect([h.name, h.linkname, h.uid, h.gid, h.mtime, h.atime]).toEqual(["päth/ünïcode-name", "tärget", 4_000_000_000, 70000, 1_700_000_000.25, 1_600_000_000.5]);
    expect(Buffer.from(h.xattrs!.get("security.capability")!).equals(cap)).toBe(true);
    expect(Buffer.from(h.xattrs!.get("user.sp ace")!).toString()).toBe("hello");
  });

  test("a PAX size overrides the header's; a bad one is refused naming the entry", () => {
    const pax = paxBody([["size", "10"]]);
    const got = read(Buffer.concat([header({ name: "x", type: "x", size: pax.length }), body(pax), header({ name: "f", size: 0 }), body("0123456789"), END]));
    expect(got[0]!.data.toString()).toBe("0123456789");
    const bad = paxBody([["size", "-1"]]);
    expect(readError(Buffer.concat([header({ name: "x", type: "x", size: bad.length }), body(bad), header({ name: "f" }), END])).message).toMatch(/entry "f": PAX size "-1"/);
  });

  test("global PAX records apply to every later entry, under the entry's own; a global path is ignored", () => {
    const global = paxBody([
      ["uid", "42"],
      ["mtime", "5"],
      ["path", "everything"],
    ]);
    const local = paxBody([["mtime", "6"]]);
    const archive = Buffer.concat([
      header({ name: "g", type: "g", size: global.length }),
      body(global),
      header({ name: "a" }),
      header({ name: "x", type: "x", size: local.length }),
      body(local),
      header({ name: "b" }),
      END,
    ]);
    const got = read(archive);
    expect(got.map((g) => [g.header.name, g.header.uid, g.header.mtime])).toEqual([
      ["a", 42, 5],
      ["b", 42, 6],
    ]);
  });

  test("malformed PAX records and too large metadata entries are refused", () => {
    const bad = Buffer.from("99 path=x\n");
    expect(readError(Buffer.concat([header({ name: "x", type: "x", size: bad.length }), body(bad), header({ name: "f" }), END]))).toBeInstanceOf(TarFormatError);
    expect(readError(Buffer.concat([header({ name: "x", type: "x", size: 64 * 1024 * 1024 }), END])).message).toMatch(/larger than/);
  });

  test("ids that are not numbers are refused naming the entry", () => {
    const pax = paxBody([["uid", "root"]]);
    expect(readError(Buffer.concat([header({ name: "x", type: "x", size: pax.length }), body(pax), header({ name: "f" }), END])).message).toMatch(/entry "f": PAX uid "root" is not a number/);
    expect(readError(Buffer.concat([header({ name: "g", uid: Buffer.from("12x4567\0") }), END])).message).toMatch(/entry "g": invalid uid or gid field/);
  });

  test("sparse files are refused by name, as a GNU type or as PAX records", () => {
    expect(readError(Buffer.concat([header({ name: "sparse", type: "S", magic: "gnu" }), END])).message).toMatch(/entry "sparse": sparse files are not supported/);
    const pax = paxBody([["GNU.sparse.major", "1"]]);
    expect(readError(Buffer.concat([header({ name: "x", type: "x", size: pax.length }), body(pax), header({ name: "s2" }), END])).message).toMatch(/entry "s2": sparse/);
  });

  test("checksums: a wrong one is refused with the offset and the entry before; a signed sum is accepted", () => {
    const err = readError(Buffer.concat([header({ name: "ok" }), header({ name: "bad", badChecksum: true }), END]));
    expect(err.message).toMatch(/not a valid tar stream: Invalid tar header at byte 512: checksum mismatch \(after entry "ok"\)/);
    const high = Buffer.from([0x63, 0xe9, 0x80]); // not UTF-8: its bytes make the two sums differ
    const signed = header({ name: high, signedChecksum: true });
    expect(checksumOk(signed, 0)).toBe(true);
    const got = read(Buffer.concat([signed, END]));
    // Names are decoded as UTF-8: invalid bytes become U+FFFD.
    expect(got[0]!.header.name).toBe("c\ufffd");
  });

  test("garbage is not a tar stream", () => {
    expect(readError(Buffer.alloc(4096, 0x41)).message).toMatch(/Invalid tar header at byte 0/);
  });

  test("an old-style directory (flag NUL, name ending in /; not flag 0) and unknown types", () => {
    const pax = paxBody([["path", "paxdir/"]]);
    const got = read(
      Buffer.concat([
        header({ name: "old/", type: "\0", magic: "v7" }),
        header({ name: "x", type: "x", size: pax.length }),
        body(pax),
        header({ name: "short", type: "\0" }),
        header({ name: "file/", type: "0" }),
        header({ name: "vol", type: "V", size: 5 }),
        body("label"),
        END,
      ]),
    );
    expect(got.map((g) => [g.header.name, g.header.type, g.header.typeflag])).toEqual([
      ["old/", "directory", ""],
      ["paxdir/", "directory", ""],
      ["file/", "file", "0"],
      ["vol", "other", "V"],
    ]);
  });

  test("the end: bytes after the marker are ignored; an empty input is an empty archive", () => {
    expect(read(Buffer.concat([header({ name: "a" }), END, Buffer.alloc(8192), Buffer.from("trailing")])).length).toBe(1);
    expect(read(Buffer.alloc(0))).toEqual([]);
    expect(read(END)).toEqual([]);
  });

  test("an archive may end after a whole entry, without the marker or the last padding (umoci 0.4)", () => {
    expect(read(Buffer.concat([header({ name: "d/", type: "5" })])).length).toBe(1);
    const unpadded = Buffer.concat([header({ name: "f", size: 3 }), Buffer.from("abc")]);
    expect(read(unpadded, 1)[0]!.data.toString()).toBe("abc");
  });

  test("an archive cut inside an entry, a header or the marker is refused, naming the entry", () => {
    const full = Buffer.concat([header({ name: "first" }), header({ name: "f", size: 3000 }), body(Buffer.alloc(3000)), END]);
    expect(readError(full.subarray(0, 512 + 512 + 100)).message).toMatch(/Unexpected end of data: entry "f" is cut short, 2900 of its bytes are missing/);
    expect(readError(full.subarray(0, 700)).message).toMatch(/Unexpected end of data inside a header at byte 512 \(after entry "first"\)/);
    expect(readError(full.subarray(0, full.length - 512)).message).toMatch(/end-of-archive marker is incomplete/);
    const pax = paxBody([["path", "p"]]);
    expect(readError(Buffer.concat([header({ name: "x", type: "x", size: pax.length }), body(pax)])).message).toMatch(/Unexpected end of data after a PAX or GNU long-name header, before its entry/);
  });

  test("a lone zero block between entries is refused", () => {
    expect(readError(Buffer.concat([header({ name: "a" }), Buffer.alloc(512), header({ name: "b" }), END])).message).toMatch(/a lone zero block at byte 512 \(after entry "a"\)/);
  });

  test("an error thrown by the sink stops the reader and comes out of push", () => {
    const reader = new TarReader({
      entry: () => {
        throw new Error("refused here");
      },
      data: () => {},
      end: () => {},
    });
    expect(() => reader.push(Buffer.concat([header({ name: "a" }), END]))).toThrow("refused here");
  });
});
