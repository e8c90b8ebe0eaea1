import type { Pool } from "./pool.js";

export type AttemptCount = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Counts one attempt of `action` by `subject` (a user id, a service key) in a fixed window kept in
 * the database, so every server process shares one count. One statement: concurrent attempts queue
 * on the row and each sees the previous one's count. Refused attempts count too, but never extend
 * the window.
 *
 * @example
 * const attempt = await countAttempt(pool, { subject: userId, action: "checkout", max: 20, windowSeconds: 60 });
 * if (!attempt.allowed) console.log(`try again in ${attempt.retryAfterSeconds} s`);
 */
export async function countAttempt(
  pool: Pool,
  input: { subject: string; action: string; max: number; windowSeconds: number },
): Promise<AttemptCount> {
  const result = await pool.query<{ attempts: number; retryAfterSeconds: number }>(
    `insert into coinslot_private.rate_limits as limits (user_id, action, window_started_at, attempts)
     values ($1, $2, now(), 1)
     on conflict (user_id, action) do update set
       window_started_at = case when limits.window_started_at <= now() - make_interval(secs => $3)
                                then now() else limits.window_started_at end,
       attempts = case when limits.window_started_at <= now() - make_interval(secs => $3)
                       then 1 else least(limits.attempts + 1, 1000000000) end
     returning attempts,
       ceil(extract(epoch from window_started_at + make_interval(secs => $3) - now()))::int as "retryAfterSeconds"`,
    [input.subject, input.action, input.windowSeconds],
  );
  const row = result.rows[0];
  if (!row) throw new Error(`counting ${input.action} of ${input.subject} returned no row`);
  if (row.attempts <= input.max) return { allowed: true };
  return { allowed: false, retryAfterSeconds: Math.max(1, row.retryAfterSeconds) };
}
