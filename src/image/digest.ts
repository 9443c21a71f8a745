// Digests as image-spec descriptor.md defines them, `algorithm:encoded`. Only sha256 (64
// lowercase hex) and sha512 (128 lowercase hex) are accepted: a digest string is checked
// here before it ever becomes a path or is compared (CVE-2024-3727: unchecked digests used
// as paths).
import { BuncError } from "../errors.ts";

export type DigestAlgorithm = "sha256" | "sha512";

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

// descriptor.md: algorithm-component [a-z0-9]+, separators [+._-], encoded [a-zA-Z0-9=_-]+.
const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export interface Digest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** What is wrong with a digest, for the caller to word; undefined when it is a good one. */
export type DigestProblem = { kind: "grammar" } | { kind: "algorithm"; algorithm: string } | { kind: "hex"; algorithm: DigestAlgorithm; length: number };

/** The one digest check of bunc (the registry client words its problems in its own errors). */
export function digestProblem(text: string): DigestProblem | undefined {
  if (!GRAMMAR.test(text)) return { kind: "grammar" };
  const colon = text.indexOf(":");
  const algorithm = text.slice(0, colon);
  const hex = text.slice(colon + 1);
  if (algorithm !== "sha256" && algorithm !== "sha512") return { kind: "algorithm", algorithm };
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(hex)) return { kind: "hex", algorithm, length: HEX_LENGTH[algorithm] };
  return undefined;
}

/** Parse and check a digest; `what` names where it came from, for the error. */
export function parseDigest(text: string, what: string): Digest {
  const problem = digestProblem(text);
  if (problem) {
    const shown = JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
    switch (problem.kind) {
      case "grammar":
        throw new BuncError("image", `${what}: invalid digest ${shown}`);
      case "algorithm":
        throw new BuncError("image", `${what}: unsupported digest algorithm ${JSON.stringify(problem.algorithm)} in ${shown} (sha256 or sha512)`);
      case "hex":
        throw new BuncError("image", `${what}: invalid digest ${shown}: ${problem.algorithm} needs ${problem.length} lowercase hex digits`);
    }
  }
  const colon = text.indexOf(":");
  return { algorithm: text.slice(0, colon) as DigestAlgorithm, hex: text.slice(colon + 1) };
}

/** Throws unless `text` is a valid digest; returns it unchanged. */
export const checkDigest = (text: string, what: string): string => (parseDigest(text, what), text);

export const isDigest = (text: string): boolean => {
  try {
    parseDigest(text, "");
    return true;
  } catch {
    return false;
  }
};

/** The blob's path inside an OCI layout, from a digest already checked. */
export function blobPath(d: Digest): string {
  return `blobs/${d.algorithm}/${d.hex}`;
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = "sha256"): string {
  const h = new Bun.CryptoHasher(algorithm);
  h.update(bytes);
  return `${algorithm}:${h.digest("hex")}`;
}

/** Check bytes read whole against their descriptor's digest and size. */
export function verifyBytes(bytes: Uint8Array, digest: string, size: number, what: string): void {
  if (bytes.length !== size) throw new BuncError("image", `${what}: size is ${bytes.length} bytes, the descriptor says ${size}`);
  const d = parseDigest(digest, what);
  const actual = digestOf(bytes, d.algorithm);
  if (actual !== digest) throw new BuncError("image", `${what}: digest mismatch: content is ${actual}, expected ${digest}`);
}

/**
 * Passes a blob's bytes through while hashing them; errors when more than `size` bytes come
 * (at once, without reading further) or when the end arrives with the wrong size or digest.
 */
export function verifyingStream(source: ReadableStream<Uint8Array>, digest: string, size: number, what: string): ReadableStream<Uint8Array> {
  const d = parseDigest(digest, what);
  const hasher = new Bun.CryptoHasher(d.algorithm);
  let seen = 0;
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        if (seen !== size) return controller.error(new BuncError("image", `${what}: ended after ${seen} bytes, the descriptor says ${size}`));
        const actual = `${d.algorithm}:${hasher.digest("hex")}`;
        if (actual !== digest) return controller.error(new BuncError("image", `${what}: digest mismatch: content is ${actual}, expected ${digest}`));
        return controller.close();
      }
      seen += value.length;
      if (seen > size) {
        await reader.cancel().catch(() => {});
        return controller.error(new BuncError("image", `${what}: more than the ${size} bytes the descriptor says`));
      }
      hasher.update(value);
      controller.enqueue(value);
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
    },
  });
}
