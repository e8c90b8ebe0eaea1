import type { Pool } from "./pool.js";

export type AttemptCount = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * The fixed window of countAttempt, for a statement that inserts one attempt
 * `(user_id, action, window_started_at, attempts)` into `coinslot_private.rate_limits as limits`:
 * `windowSeconds` names the parameter holding the window's length. Returns `attempts` and
 * `retry_after_seconds`, which `attemptCountOf` reads. Kept in one place so the gateway's statement
 * that also finds its key counts exactly as every other limit does.
 */
export function countInWindowSql(windowSeconds: string): string {
  return `on conflict (user_id, action) do update set
       window_started_at = case when limits.window_started_at <= now() - make_interval(secs => ${windowSeconds})
                                then now() else limits.window_started_at end,
       attempts = case when limits.window_started_at <= now() - make_interval(secs => ${windowSeconds})
                       then 1 else least(limits.attempts + 1, 1000000000) end
     returning attempts,
       ceil(extract(epoch from window_started_at + make_interval(secs => ${windowSeconds}) - now()))::int
         as retry_after_seconds`;
}

/** Whether a counted attempt is within `max`, from the row `countInWindowSql` returned. */
export function attemptCountOf(
  row: { attempts: number; retry_after_seconds: number | null },
  max: number,
): AttemptCount {
  if (row.attempts <= max) return { allowed: true };
  return { allowed: false, retryAfterSeconds: Math.max(1, row.retry_after_seconds ?? 1) };
}

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
  const result = await pool.query<{ attempts: number; retry_after_seconds: number }>(
    `insert into coinslot_private.rate_limits as limits (user_id, action, window_started_at, attempts)
     values ($1, $2, now(), 1)
     ${countInWindowSql("$3")}`,
    [input.subject, input.action, input.windowSeconds],
  );
  const row = result.rows[0];
  if (!row) throw new Error(`counting ${input.action} of ${input.subject} returned no row`);
  return attemptCountOf(row, input.max);
}
