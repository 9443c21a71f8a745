// docker-archive:FILE[:NAME:TAG|:@N] — what `docker save` and skopeo write: manifest.json
// lists each image's Config, RepoTags and Layers by member name. bunc turns the chosen
// image into an OCI manifest: the config's digest is that of its bytes, each layer's that
// of the member's bytes, with the media type from its first bytes (gzip, zstd or plain tar).
// Links are never followed: a member manifest.json names must be a regular file. Other link
// members are ignored (docker and skopeo write legacy ID/layer.tar links nobody needs).
import { BuncError } from "../errors.ts";
import { DockerArchiveManifestSchema, MEDIA_TYPE, type Descriptor, type DockerArchiveEntry } from "../spec/image-manifest.ts";
import type { BlobSource, RootSelection } from "./blob-source.ts";
import { digestOf } from "./digest.ts";
import { checkShape, parseJson } from "./documents.ts";
import { MAX_DOCUMENT_BYTES } from "./limits.ts";
import { entryName, TarArchive, type TarEntryInfo } from "./tar-archive.ts";
import { formatImageName, parseImageName, type ImageName } from "./reference.ts";

function layerMediaType(head: Uint8Array | undefined): string {
  if (head && head[0] === 0x1f && head[1] === 0x8b) return MEDIA_TYPE.ociLayerGzip;
  if (head && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return MEDIA_TYPE.ociLayerZstd;
  return MEDIA_TYPE.ociLayer;
}

// Docker writes short names ("busybox:latest"), skopeo may write full ones: compare both
// in docker's full form.
function fullName(n: ImageName): string {
  if (n.domain !== undefined) return formatImageName(n);
  const path = n.repository.includes("/") ? n.repository : `library/${n.repository}`;
  return `docker.io/${path}:${n.tag ?? "latest"}`;
}

// The name as docker shows it: "busybox:latest" for docker.io/library/busybox:latest.
function familiarName(tag: string): string {
  try {
    const n = parseImageName(tag);
    let repo = n.repository;
    if (n.domain === "docker.io") repo = repo.slice("docker.io/".length);
    if (repo.startsWith("library/") && repo.split("/").length === 2) repo = repo.slice("library/".length);
    return formatImageName({ ...n, repository: repo });
  } catch {
    return tag;
  }
}

export class DockerArchiveSource implements BlobSource {
  /** Blobs by digest: the synthesized manifest in memory, the rest archive members. */
  private readonly blobs = new Map<string, { bytes: Uint8Array } | { member: string }>();

  private constructor(
    readonly label: string,
    private readonly archive: TarArchive,
    private readonly images: DockerArchiveEntry[],
  ) {}

  static async open(file: string): Promise<DockerArchiveSource> {
    const label = `docker-archive:${file}`;
    const archive = await TarArchive.scan(file, label, { hash: true });
    const what = `${label}: manifest.json`;
    if (!archive.entries.has("manifest.json")) throw new BuncError("image", `${label}: not a docker archive (no manifest.json)`);
    const images = checkShape(DockerArchiveManifestSchema, parseJson(await archive.read("manifest.json", MAX_DOCUMENT_BYTES, what), what), what);
    if (images.length === 0) throw new BuncError("image", `${what}: lists no image`);
    return new DockerArchiveSource(label, archive, images);
  }

  private pick(name: ImageName | undefined, index: number | undefined): { image: DockerArchiveEntry; tag?: string } {
    if (index !== undefined) {
      const image = this.images[index];
      if (!image) throw new BuncError("image", `${this.label}: no image @${index} (it holds ${this.images.length})`);
      const tag = image.RepoTags?.[0];
      return tag === undefined ? { image } : { image, tag };
    }
    if (name !== undefined) {
      const want = fullName(name);
      for (const image of this.images) {
        for (const t of image.RepoTags ?? []) {
          let n: ImageName;
          try {
            n = parseImageName(t);
          } catch {
            continue;
          }
          if (fullName(n) === want) return { image, tag: t };
        }
      }
      const tags = this.images.flatMap((i) => i.RepoTags ?? []);
      throw new BuncError("image", `${this.label}: no image tagged ${JSON.stringify(formatImageName(name))}${tags.length ? ` (it has ${tags.map((t) => JSON.stringify(t)).join(", ")})` : ""}`);
    }
    if (this.images.length > 1) throw new BuncError("image", `${this.label}: the archive holds ${this.images.length} images; name one (:NAME:TAG or :@N)`);
    const image = this.images[0]!;
    const tag = image.RepoTags?.[0];
    return tag === undefined ? { image } : { image, tag };
  }

  private member(path: string, what: string): TarEntryInfo {
    return this.archive.regularFile(entryName(path, `${this.label}: ${what}`), `${this.label}: ${what}`);
  }

  /** Select by the parsed docker-archive reference (NAME:TAG or @N). */
  async selectImage(name: ImageName | undefined, index: number | undefined): Promise<RootSelection> {
    const { image, tag } = this.pick(name, index);
    const config = this.member(image.Config, `Config ${JSON.stringify(image.Config)}`);
    const configBytes = await this.archive.read(config.name, MAX_DOCUMENT_BYTES, `${this.label}: config ${config.name}`);
    const configDigest = digestOf(configBytes);
    this.blobs.set(configDigest, { member: config.name });
    const layers: Descriptor[] = image.Layers.map((path, i) => {
      const e = this.member(path, `Layers[${i}] ${JSON.stringify(path)}`);
      this.blobs.set(e.sha256!, { member: e.name });
      return { mediaType: layerMediaType(e.head), digest: e.sha256!, size: e.size };
    });
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.ociManifest,
      config: { mediaType: MEDIA_TYPE.ociConfig, digest: configDigest, size: configBytes.length },
      layers,
    };
    const bytes = new TextEncoder().encode(JSON.stringify(manifest));
    const digest = digestOf(bytes);
    this.blobs.set(digest, { bytes });
    const candidates = [{ mediaType: MEDIA_TYPE.ociManifest, digest, size: bytes.length }];
    return tag === undefined ? { candidates } : { candidates, name: familiarName(tag) };
  }

  async select(ref: string | undefined): Promise<RootSelection> {
    return this.selectImage(ref === undefined ? undefined : parseImageName(ref), undefined);
  }

  private blob(d: Descriptor, what: string) {
    const b = this.blobs.get(d.digest);
    if (!b) throw new BuncError("image", `${what}: ${this.label} has no blob ${d.digest}`);
    return b;
  }

  async readBlob(d: Descriptor, cap: number, what: string): Promise<Uint8Array> {
    if (d.size > cap) throw new BuncError("image", `${what}: ${d.size} bytes is more than the limit of ${cap}`);
    const b = this.blob(d, what);
    if ("bytes" in b) return b.bytes;
    return this.archive.readVerified(b.member, d.digest, d.size, cap, what);
  }

  openBlob(d: Descriptor): ReadableStream<Uint8Array> {
    const what = `${this.label}: blob ${d.digest}`;
    const b = this.blob(d, what);
    if ("bytes" in b) {
      const bytes = b.bytes;
      return new ReadableStream({ start: (c) => (c.enqueue(bytes), c.close()) });
    }
    return this.archive.open(b.member, what);
  }
}
