import { describe, expect, test } from "bun:test";
import { blobPath, digestOf, parseDigest, verifyBytes, verifyingStream } from "./digest.ts";

const bytes = new TextEncoder().encode("hello");
const good = digestOf(bytes);

describe("digests", () => {
  test("grammar before paths", () => {
    expect(blobPath(parseDigest(good, "x"))).toBe(`blobs/sha256/${good.slice(7)}`);
    expect(parseDigest(`sha512:${"0".repeat(128)}`, "x").algorithm).toBe("sha512");
    for (const bad of ["sha256:../../../etc/passwd", "sha256:/abs", "sha256", `sha256:${"a".repeat(63)}`, `sha512:${"a".repeat(64)}`, `SHA256:${"a".repeat(64)}`, `sha256:${"a".repeat(64)}/x`]) {
      expect(() => parseDigest(bad, "layers[0]")).toThrow(/layers\[0\]/);
    }
  });

  test("verifyBytes checks size then digest", () => {
    verifyBytes(bytes, good, 5, "b");
    expect(() => verifyBytes(bytes, good, 6, "b")).toThrow(/size is 5 bytes, the descriptor says 6/);
    expect(() => verifyBytes(bytes, digestOf(new Uint8Array(5)), 5, "b")).toThrow(/digest mismatch/);
  });

  const drain = async (s: ReadableStream<Uint8Array>) => {
    let n = 0;
    for await (const c of s) n += c.length;
    return n;
  };
  const streamOf = (...parts: string[]) => new ReadableStream<Uint8Array>({ start: (c) => (parts.forEach((p) => c.enqueue(new TextEncoder().encode(p))), c.close()) });

  test("verifyingStream passes good bytes and refuses bad ones", async () => {
    expect(await drain(verifyingStream(streamOf("hel", "lo"), good, 5, "L"))).toBe(5);
    await expect(drain(verifyingStream(streamOf("hello!"), good, 5, "L"))).rejects.toThrow(/more than the 5 bytes/);
    await expect(drain(verifyingStream(streamOf("hell"), good, 5, "L"))).rejects.toThrow(/ended after 4 bytes/);
    await expect(drain(verifyingStream(streamOf("jello"), good, 5, "L"))).rejects.toThrow(/digest mismatch/);
  });
});
