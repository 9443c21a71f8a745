// Reading a response body whole, but never more than a bound: a manifest, an index, a token
// answer or an error body larger than that is refused unread or cut off (CVE-2023-25153:
// unbounded reads of documents).
import { registryError } from "./registry-error.ts";

/** Read at most `max` bytes; more is an error, or with `truncate` the first `max` bytes. */
export async function readCapped(res: Response, max: number, what: string, opts: { truncate?: boolean } = {}): Promise<Uint8Array> {
  const declared = res.headers.get("content-length");
  if (!opts.truncate && declared !== null && Number(declared) > max) {
    await res.body?.cancel().catch(() => {});
    throw registryError(`${what}: ${declared} bytes, more than the ${max} allowed`);
  }
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (total + value.length > max) {
        await reader.cancel().catch(() => {});
        if (opts.truncate) {
          chunks.push(value.subarray(0, max - total));
          total = max;
          break;
        }
        throw registryError(`${what}: more than the ${max} bytes allowed`);
      }
      chunks.push(value);
      total += value.length;
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
