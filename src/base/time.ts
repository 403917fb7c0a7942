/** Waiting: an abortable sleep and the retry delays of loops that poll or retry. */

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). Leaves no listener behind. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * The delay before retry `attempt` (1, 2, …) with "full jitter": uniformly random in
 * [0, min(maxMs, baseMs × 2^(attempt-1))), so contenders that failed together do not retry
 * together.
 * @param random source of randomness in [0, 1) @default Math.random
 */
export function backoff(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt - 1), 30));
  return Math.floor(random() * cap);
}

/**
 * `ms` with "equal jitter": uniformly random in [ms/2, ms), so actors that failed together
 * (100 streams losing one database) retry spread over half the delay instead of in lockstep,
 * while the delay still grows with `ms`.
 * @param random source of randomness in [0, 1) @default Math.random
 */
export function jitter(ms: number, random: () => number = Math.random): number {
  return Math.floor(ms / 2 + random() * (ms / 2));
}
