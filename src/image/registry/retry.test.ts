import { describe, expect, test } from "bun:test";
import { RetryableError, parseRetryAfter, withRetries } from "./retry.ts";

describe("parseRetryAfter", () => {
  test("seconds and HTTP dates", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
    const now = Date.parse("Sat, 28 Nov 2026 06:00:00 GMT");
    expect(parseRetryAfter("Sat, 28 Nov 2026 06:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Sat, 28 Nov 2026 05:00:00 GMT", now)).toBe(0);
  });
});

describe("withRetries", () => {
  const policy = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 1000 };
  test("retries retryable errors, then gives up naming the try count", async () => {
    let n = 0;
    await expect(withRetries(policy, "thing", async () => { n++; throw new RetryableError("flaky"); })).rejects.toThrow("thing: flaky (gave up after 3 tries)");
    expect(n).toBe(3);
  });
  test("other errors fail at once; progress resets the count", async () => {
    let n = 0;
    await expect(withRetries(policy, "thing", async () => { n++; throw new Error("fatal"); })).rejects.toThrow("fatal");
    expect(n).toBe(1);
    let tries = 0;
    const result = await withRetries(policy, "thing", async () => { if (++tries < 6) throw new RetryableError("cut"); return tries; }, { madeProgress: () => true });
    expect(result).toBe(6);
  });
});
