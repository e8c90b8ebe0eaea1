/** How retries of one piece of outgoing work (a webhook delivery, an email) are spaced and when they stop. */
export type RetryPolicy = {
  /** Wait after the first failed attempt; doubles with each further one. */
  baseDelayMs: number;
  /** No wait is longer than this. */
  maxDelayMs: number;
  /** After this long since the work was queued, a failed attempt is the last: it is given up. */
  giveUpAfterMs: number;
};

export const defaultRetryPolicy: RetryPolicy = {
  baseDelayMs: 10_000,
  maxDelayMs: 3_600_000,
  giveUpAfterMs: 86_400_000,
};

/**
 * The wait before attempt `attempts + 1`: exponential, capped, and jittered between half and all of
 * it, so the attempts that failed together (an endpoint or mail server that was down) do not all retry together.
 *
 * @example
 * retryDelayMs(defaultRetryPolicy, 1, Math.random); // 5_000 to 10_000
 */
export function retryDelayMs(policy: RetryPolicy, attempts: number, random: () => number): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 30);
  const cappedMs = Math.min(policy.baseDelayMs * 2 ** exponent, policy.maxDelayMs);
  return Math.round(cappedMs / 2 + (random() * cappedMs) / 2);
}

/**
 * When to try again after a failed attempt, or null when that retry would come later than
 * `giveUpAfterMs` after the work was queued: then the failure was the last attempt.
 *
 * @example
 * retryAtMs(defaultRetryPolicy, { attempts: 1, queuedAtMs: Date.now() }, Math.random); // in 5 to 10 s
 */
export function retryAtMs(
  policy: RetryPolicy,
  work: { attempts: number; queuedAtMs: number; nowMs?: number },
  random: () => number,
): number | null {
  const atMs = (work.nowMs ?? Date.now()) + retryDelayMs(policy, work.attempts, random);
  return atMs > work.queuedAtMs + policy.giveUpAfterMs ? null : atMs;
}
