// One layer's tar stream applied to the rootfs: TarReader parses, RootfsWriter applies.
// The uncompressed bytes are counted on the way in: a size limit stops a decompression bomb.
import { BuncError } from "../../errors.ts";
import { classifyEntry, cleanKey, inRootPath } from "./entry-path.ts";
import { entryError, type EntryMeta, type RootfsWriter } from "./rootfs-writer.ts";
import { TarReader, type TarHeader } from "./tar-reader.ts";

export interface TarLimits {
  maxBytes: number;
  maxEntries: number;
}

export interface TarCounts {
  entries: number;
  bytes: number;
  whiteouts: number;
}

const MAX_ID = 0xfffffffe;
const NO_XATTRS: ReadonlyMap<string, Uint8Array> = new Map();

function checkId(value: number, field: "uid" | "gid", entry: string): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_ID) throw entryError(entry, `${field} ${String(value)} is not a valid id`);
  return value;
}

function metaOf(h: TarHeader): EntryMeta {
  return {
    mode: h.mode & 0o7777,
    uid: checkId(h.uid, "uid", h.name),
    gid: checkId(h.gid, "gid", h.name),
    mtime: h.mtime,
    atime: h.atime ?? h.mtime,
    xattrs: (h.xattrs ?? NO_XATTRS) as Map<string, Uint8Array>,
  };
}

/** Apply every entry of one layer's tar stream. */
export async function applyTar(chunks: AsyncIterable<Uint8Array>, writer: RootfsWriter, limits: TarLimits, warn: (msg: string) => void): Promise<TarCounts> {
  const counts: TarCounts = { entries: 0, bytes: 0, whiteouts: 0 };
  // The file being written: its fd, metadata and name.
  let fd = -1;
  let fileMeta: EntryMeta | undefined;
  let fileName = "";
  const reader = new TarReader({
    entry(h) {
      const entry = h.name;
      if (++counts.entries > limits.maxEntries) throw new BuncError("layer", `more than ${limits.maxEntries} entries`);
      const target = classifyEntry(entry);
      switch (target.kind) {
        case "invalid":
          throw entryError(entry, target.why);
        case "aufs-meta":
          warn(`entry "${entry}": aufs metadata skipped`);
          return false;
        case "opaque":
          counts.whiteouts++;
          writer.opaqueDir(target.dir);
          return false;
        case "whiteout":
          counts.whiteouts++;
          writer.whiteout(target.dir, target.name, entry);
          return false;
      }
      const parts = target.path;
      switch (h.type) {
        case "file":
          fileMeta = metaOf(h);
          fileName = entry;
          fd = writer.beginFile(parts, fileMeta, entry);
          return true;
        case "directory":
          writer.directory(parts, metaOf(h), entry);
          return false;
        case "symlink":
          writer.symlink(parts, h.linkname, metaOf(h), entry);
          return false;
        case "link":
          writer.hardlink(parts, inRootPath(cleanKey(h.linkname)), entry, h.linkname);
          return false;
        case "char":
        case "block":
        case "fifo":
          writer.special(parts, h.type, h.devmajor, h.devminor, metaOf(h), entry);
          return false;
        default:
          warn(`entry "${entry}": tar entry type ${h.typeflag === "" ? "NUL" : h.typeflag} not supported: skipped`);
          return false;
      }
    },
    data(chunk) {
      try {
        writer.writeFile(fd, chunk);
      } catch (err) {
        throw entryError(fileName, `write: ${(err as Error).message}`);
      }
    },
    end() {
      const done = fd;
      fd = -1;
      writer.endFile(done, fileMeta!, fileName);
    },
  });
  try {
    for await (const chunk of chunks) {
      counts.bytes += chunk.length;
      if (counts.bytes > limits.maxBytes) throw new BuncError("layer", `uncompressed size exceeds the limit of ${limits.maxBytes} bytes`);
      reader.push(chunk);
    }
    reader.end();
    return counts;
  } finally {
    if (fd >= 0) writer.endFileQuietly(fd);
  }
}
