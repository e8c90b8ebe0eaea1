import type { Pool } from "../db/pool.js";
import { type AttemptCount, countAttempt as countSubjectAttempt } from "../db/rate-limit.js";
import { AppError } from "../kit/errors.js";

/** What a person does that reaches Stripe and writes a row; each has its own count. */
export type CheckoutAction = "checkout" | "checkout_confirm" | "auto_topup";

export type { AttemptCount } from "../db/rate-limit.js";

/**
 * Counts one attempt of `action` by `userId` in the database-kept window of `countAttempt` (src/db),
 * so every server process shares one count, like sign-in's.
 *
 * @example
 * const attempt = await countAttempt(pool, { userId, action: "checkout", max: 20, windowSeconds: 60 });
 * if (!attempt.allowed) console.log(`try again in ${attempt.retryAfterSeconds} s`);
 */
export function countAttempt(
  pool: Pool,
  input: { userId: string; action: CheckoutAction; max: number; windowSeconds: number },
): Promise<AttemptCount> {
  const { userId, ...rest } = input;
  return countSubjectAttempt(pool, { subject: userId, ...rest });
}

/** The 429 for a refused attempt; the route also sends `Retry-After` with the same seconds. */
export function rateLimitedError(retryAfterSeconds: number): AppError {
  return new AppError(
    "RATE_LIMITED",
    `Too many checkout requests. Try again in ${retryAfterSeconds} seconds.`,
  );
}
