// Retries with exponential backoff for what a registry or the network may fix by itself:
// 5xx answers, 429 (waiting what Retry-After asks, within a bound), and dropped or stalled
// connections. Anything else fails at once.
import { registryError } from "./registry-error.ts";

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Wait before the first retry; doubled each time up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this fails instead of waiting. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 10_000, maxRetryAfterMs: 120_000 };

/** A failure worth another try; `retryAfterMs` when the server said how long to wait. */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "RetryableError";
  }
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/**
 * Run `attempt` until it succeeds, fails with a non-retryable error, or the tries are spent.
 * `attempt` returns true through `madeProgress()` when it moved forward (bytes received), which
 * starts the count again: a long download over a flaky link gets there in the end.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  what: string,
  attempt: (tryNumber: number) => Promise<T>,
  opts: { signal?: AbortSignal; madeProgress?: () => boolean } = {},
): Promise<T> {
  let failures = 0;
  for (let tryNumber = 1; ; tryNumber++) {
    try {
      return await attempt(tryNumber);
    } catch (err) {
      if (!(err instanceof RetryableError)) throw err;
      if (opts.madeProgress?.()) failures = 0;
      failures++;
      if (failures >= policy.attempts) throw registryError(`${what}: ${err.message} (gave up after ${failures} tries)`);
      let delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failures - 1));
      if (err.retryAfterMs !== undefined) {
        if (err.retryAfterMs > policy.maxRetryAfterMs) {
          throw registryError(`${what}: ${err.message}; the server asks to wait ${Math.ceil(err.retryAfterMs / 1000)} s, more than ${policy.maxRetryAfterMs / 1000} s`);
        }
        delay = Math.max(delay, err.retryAfterMs);
      }
      await sleep(delay, opts.signal);
    }
  }
}
