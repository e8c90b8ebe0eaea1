/** How retries of one delivery are spaced and when they stop. */
export type RetryPolicy = {
  /** Wait after the first failed attempt; doubles with each further one. */
  baseDelayMs: number;
  /** No wait is longer than this. */
  maxDelayMs: number;
  /** After this long since the event, a failed attempt is the last: the delivery is given up. */
  giveUpAfterMs: number;
};

export const defaultRetryPolicy: RetryPolicy = {
  baseDelayMs: 10_000,
  maxDelayMs: 3_600_000,
  giveUpAfterMs: 86_400_000,
};

/**
 * The wait before attempt `attempts + 1`: exponential, capped, and jittered between half and all of
 * it, so the deliveries that failed together (an endpoint that was down) do not all retry together.
 *
 * @example
 * retryDelayMs(defaultRetryPolicy, 1, Math.random); // 5_000 to 10_000
 */
export function retryDelayMs(policy: RetryPolicy, attempts: number, random: () => number): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 30);
  const cappedMs = Math.min(policy.baseDelayMs * 2 ** exponent, policy.maxDelayMs);
  return Math.round(cappedMs / 2 + (random() * cappedMs) / 2);
}
