// Digests as image-spec descriptor.md defines them (`algorithm:encoded`), checked before a
// digest from a reference, a manifest or a server header becomes a URL or a file name
// (CVE-2024-3727). Only sha256 and sha512 are fetched: they are the registered algorithms.
import { registryError, shown } from "./registry-error.ts";

export type DigestAlgorithm = "sha256" | "sha512";

const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const HEX: Record<DigestAlgorithm, RegExp> = { sha256: /^[0-9a-f]{64}$/, sha512: /^[0-9a-f]{128}$/ };

/** Throws unless `text` is a sha256/sha512 digest; `what` says where it came from. */
export function checkDigest(text: string, what: string): string {
  if (!GRAMMAR.test(text)) throw registryError(`${what}: ${shown(text)} is not a digest (algorithm:hex)`);
  const [algorithm, hex] = text.split(":") as [string, string];
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    throw registryError(`${what}: digest algorithm ${shown(algorithm)} is not supported (sha256 or sha512)`);
  }
  if (!HEX[algorithm].test(hex)) {
    throw registryError(`${what}: ${shown(text)}: ${algorithm} needs ${algorithm === "sha256" ? 64 : 128} lowercase hex digits`);
  }
  return text;
}

export function digestAlgorithm(digest: string): DigestAlgorithm {
  return digest.slice(0, digest.indexOf(":")) as DigestAlgorithm;
}

/** The hex part of a checked digest. */
export const digestHex = (digest: string): string => digest.slice(digest.indexOf(":") + 1);

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = "sha256"): string {
  const hasher = new Bun.CryptoHasher(algorithm);
  hasher.update(bytes);
  return `${algorithm}:${hasher.digest("hex")}`;
}
