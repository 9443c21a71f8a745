// Image references, in skopeo's transport syntax where there is one:
//   oci:DIR[:REF]                an OCI image layout directory, REF an index.json ref.name
//   oci-archive:FILE[:REF]       a tar of such a layout
//   docker-archive:FILE[:NAME:TAG | :@N]   what `docker save` writes
//   docker://NAME[:TAG|@DIGEST]  a registry (pulled into the store, then read from there)
//   NAME[:TAG|@DIGEST]           an image in bunc's store; a NAME whose first component is a
//                                host (has a dot or a port, or is localhost) is a registry
//                                name when it is not in the store; a short name not found
//                                verbatim is looked up as docker names it (alpine →
//                                docker.io/library/alpine:latest)
// Names, tags and digests follow the distribution spec's grammar; digests are also checked
// against image-spec descriptor.md (see digest.ts).
import { BuncError } from "../errors.ts";
import { checkDigest } from "./digest.ts";
import { isNameProblem, MAX_NAME_LENGTH, splitName } from "./name-grammar.ts";

export interface ImageName {
  /** Repository, with its host first when it has one: "busybox", "localhost:5000/a/b". */
  repository: string;
  tag?: string;
  digest?: string;
  /** Host part of repository, when it has one. */
  domain?: string;
}

export type ImageReference =
  | { transport: "oci"; dir: string; ref?: string }
  | { transport: "oci-archive"; file: string; ref?: string }
  | { transport: "docker-archive"; file: string; name?: ImageName; index?: number }
  | { transport: "registry"; name: ImageName }
  | { transport: "store"; name: ImageName };

// What skopeo accepts after oci:DIR: (containers/image oci/internal refRegexp).
const LAYOUT_REF = /^[A-Za-z0-9._:@/+-]+$/;

const bad = (what: string, text: string, why: string) =>
  new BuncError("image", `invalid ${what} ${JSON.stringify(text)}: ${why}`);

/** Parse NAME[:TAG][@DIGEST] with the distribution-spec grammar (name-grammar.ts). */
export function parseImageName(text: string, defaultTag: string | undefined = "latest"): ImageName {
  const parts = splitName(text, (d) => checkDigest(d, `image name ${JSON.stringify(text)}`));
  if (isNameProblem(parts)) {
    switch (parts.kind) {
      case "empty":
        throw bad("image name", text, "the repository name is empty");
      case "too-long":
        throw bad("image name", text, `the repository name is longer than ${MAX_NAME_LENGTH} characters`);
      case "tag":
        throw bad("image name", text, `tag ${JSON.stringify(parts.tag)} must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}`);
      case "component":
        throw bad("image name", text, `path component ${JSON.stringify(parts.component)} must be lowercase letters and digits, separated by ".", "_", "__" or "-"`);
      case "host":
        throw bad("image name", text, `${parts.part} is not a valid registry host: ${parts.why}`);
    }
  }
  const { tag = parts.digest === undefined ? defaultTag : undefined } = parts;
  const name: ImageName = { repository: parts.name };
  if (tag !== undefined) name.tag = tag;
  if (parts.digest !== undefined) name.digest = parts.digest;
  if (parts.host !== undefined) name.domain = parts.host;
  return name;
}

/** "repo:tag", "repo@digest" or "repo:tag@digest". */
export function formatImageName(n: ImageName): string {
  return `${n.repository}${n.tag !== undefined ? `:${n.tag}` : ""}${n.digest !== undefined ? `@${n.digest}` : ""}`;
}

/** The registry's full name: docker.io and library/ filled in as docker does. */
export function registryName(n: ImageName): ImageName {
  if (n.domain !== undefined) return n;
  const path = n.repository.includes("/") ? n.repository : `library/${n.repository}`;
  return { ...n, domain: "docker.io", repository: `docker.io/${path}` };
}

// skopeo's transports bunc does not read, named so the error can say so.
const OTHER_TRANSPORTS = ["dir", "containers-storage", "docker-daemon", "ostree", "sif", "tarball"];

function splitPathAndRef(body: string, transport: string, text: string): { path: string; ref?: string } {
  const colon = body.indexOf(":");
  const path = colon === -1 ? body : body.slice(0, colon);
  const ref = colon === -1 ? undefined : body.slice(colon + 1);
  if (path === "") throw bad(`${transport} reference`, text, "the path is empty");
  if (ref === undefined || ref === "") return { path };
  return { path, ref };
}

/** Parse any image reference bunc takes on its command line. */
export function parseImageReference(text: string): ImageReference {
  if (text === "") throw new BuncError("image", "empty image reference");
  if (text.startsWith("docker://")) {
    return { transport: "registry", name: registryName(parseImageName(text.slice("docker://".length))) };
  }
  const colon = text.indexOf(":");
  const prefix = colon === -1 ? "" : text.slice(0, colon);
  const body = text.slice(colon + 1);
  if (prefix === "oci" || prefix === "oci-archive") {
    const { path, ref } = splitPathAndRef(body, prefix, text);
    if (ref !== undefined && !LAYOUT_REF.test(ref)) throw bad(`${prefix} reference`, text, `ref ${JSON.stringify(ref)} may only hold A-Z a-z 0-9 . _ : @ / + -`);
    return prefix === "oci" ? { transport: "oci", dir: path, ...(ref !== undefined && { ref }) } : { transport: "oci-archive", file: path, ...(ref !== undefined && { ref }) };
  }
  if (prefix === "docker-archive") {
    const { path, ref } = splitPathAndRef(body, prefix, text);
    if (ref === undefined) return { transport: "docker-archive", file: path };
    if (ref.startsWith("@")) {
      if (!/^@[0-9]{1,6}$/.test(ref)) throw bad("docker-archive reference", text, `${JSON.stringify(ref)} must be @ and an image number`);
      return { transport: "docker-archive", file: path, index: Number(ref.slice(1)) };
    }
    const name = parseImageName(ref, undefined);
    if (name.digest !== undefined || name.tag === undefined) throw bad("docker-archive reference", text, "the image in the archive is named NAME:TAG");
    return { transport: "docker-archive", file: path, name };
  }
  if (OTHER_TRANSPORTS.includes(prefix) && !/^[0-9]/.test(body)) {
    throw new BuncError("unsupported", `image transport "${prefix}:" is not supported (oci:, oci-archive:, docker-archive:, docker:// or a name in the store)`);
  }
  return { transport: "store", name: parseImageName(text) };
}

/** Does this store name also read as a registry name (its first component is a host)? */
export const looksLikeRegistry = (n: ImageName): boolean => n.domain !== undefined;
