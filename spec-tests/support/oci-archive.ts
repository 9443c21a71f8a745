// A one-layer OCI image archive (image-layout.md as a tar: oci-layout, index.json, blobs)
// of the test rootfs, for clients that import images from a file (`ctr image import`):
// no registry, no network.
//
//   const bytes = await rootfsImageArchive("docker.io/library/busybox:bunc-test");
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack, type Header } from "tar-stream";
import { buildRootfs, removeTree, TEMP_PREFIX } from "./bundle.ts";

const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

/** The image-spec name of this machine's architecture. */
export function ociArchitecture(): string {
  const names: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  const name = names[process.arch];
  if (!name) throw new Error(`oci archive: no image-spec architecture for ${process.arch}`);
  return name;
}

type Entry = { header: Partial<Header> & { name: string }; content?: Uint8Array };

/** A tar of `entries`, in order. */
export async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) {
    if (e.content === undefined) p.entry(e.header);
    else p.entry(e.header, e.content);
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Every entry below `dir` (parents first) with its mode, owner and link target. */
function treeEntries(dir: string, prefix = ""): Entry[] {
  const out: Entry[] = [];
  const mtime = new Date(0);
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const rel = prefix + name;
    const st = lstatSync(path);
    const base = { name: rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime };
    if (st.isSymbolicLink()) out.push({ header: { ...base, type: "symlink", linkname: readlinkSync(path) } });
    else if (st.isDirectory()) out.push({ header: { ...base, name: `${rel}/`, type: "directory" } }, ...treeEntries(path, `${rel}/`));
    else if (st.isFile()) out.push({ header: { ...base, type: "file", size: st.size }, content: readFileSync(path) });
    else throw new Error(`oci archive: ${path} is neither a file, a directory nor a symlink`);
  }
  return out;
}

/** The test rootfs (busybox, /etc/passwd …) as an uncompressed layer tar. */
export async function rootfsLayer(): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}layer-`));
  try {
    buildRootfs(join(dir, "rootfs"));
    return await tarOf(treeEntries(join(dir, "rootfs")));
  } finally {
    removeTree(dir);
  }
}

/** An OCI archive holding one image named `name` (both the containerd and the OCI
 *  annotation), whose one layer is the test rootfs and whose default command is `sh`. */
export async function rootfsImageArchive(name: string): Promise<Buffer> {
  const layer = await rootfsLayer();
  const config = Buffer.from(
    JSON.stringify({
      architecture: ociArchitecture(),
      os: "linux",
      config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] },
      rootfs: { type: "layers", diff_ids: [`sha256:${sha256(layer)}`] },
    }),
  );
  const descriptor = (mediaType: string, bytes: Uint8Array) => ({ mediaType, digest: `sha256:${sha256(bytes)}`, size: bytes.length });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: descriptor("application/vnd.oci.image.config.v1+json", config),
      layers: [descriptor("application/vnd.oci.image.layer.v1.tar", layer)],
    }),
  );
  const tag = name.slice(name.lastIndexOf(":") + 1);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          ...descriptor("application/vnd.oci.image.manifest.v1+json", manifest),
          annotations: { "io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  const mtime = new Date(0);
  const file = (n: string, content: Uint8Array): Entry => ({ header: { name: n, type: "file", mode: 0o644, size: content.length, mtime }, content });
  const dir = (n: string): Entry => ({ header: { name: n, type: "directory", mode: 0o755, mtime } });
  const blob = (bytes: Uint8Array) => file(`blobs/sha256/${sha256(bytes)}`, bytes);
  return tarOf([
    file("oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" }))),
    file("index.json", index),
    dir("blobs/"),
    dir("blobs/sha256/"),
    blob(layer),
    blob(config),
    blob(manifest),
  ]);
}
