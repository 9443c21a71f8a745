// rlimit values as setrlimit(2) wants them. Kept apart from the schemas so the init stage,
// which applies rlimits, does not load the schema library.

/** RLIM_INFINITY on Linux: (rlim_t)-1. */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

/**
 * An rlimit value from the config as the u64 setrlimit(2) wants. Anything at or above
 * 2^64-1 (which JSON can only deliver rounded to 2^64) means unlimited. Values between
 * 2^53 and 2^64 arrive rounded by JSON.parse; no real limit lives there.
 */
export function rlimitValue(n: number): bigint {
  if (n >= 2 ** 64 - 1) return RLIM_INFINITY;
  return BigInt(n);
}

