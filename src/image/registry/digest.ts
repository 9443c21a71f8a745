// Digests in the registry client: the grammar is digest.ts's (image-spec descriptor.md,
// sha256 and sha512 only), checked before a digest from a reference, a manifest or a server
// header becomes a URL or a file name (CVE-2024-3727); the errors here are registry errors.
import { digestProblem, type DigestAlgorithm } from "../digest.ts";
import { registryError, shown } from "./registry-error.ts";

export { digestOf, type DigestAlgorithm } from "../digest.ts";

/** Throws unless `text` is a sha256/sha512 digest; `what` says where it came from. */
export function checkDigest(text: string, what: string): string {
  const problem = digestProblem(text);
  if (!problem) return text;
  switch (problem.kind) {
    case "grammar":
      throw registryError(`${what}: ${shown(text)} is not a digest (algorithm:hex)`);
    case "algorithm":
      throw registryError(`${what}: digest algorithm ${shown(problem.algorithm)} is not supported (sha256 or sha512)`);
    case "hex":
      throw registryError(`${what}: ${shown(text)}: ${problem.algorithm} needs ${problem.length} lowercase hex digits`);
  }
}

export function digestAlgorithm(digest: string): DigestAlgorithm {
  return digest.slice(0, digest.indexOf(":")) as DigestAlgorithm;
}

/** The hex part of a checked digest. */
export const digestHex = (digest: string): string => digest.slice(digest.indexOf(":") + 1);
