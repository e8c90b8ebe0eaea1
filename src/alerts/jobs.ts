import type { Pool } from "../db/pool.js";
import { runPeriodically } from "../kit/periodic.js";
import type { Logger } from "../logger.js";

/** A lot with less than this left is not worth an email about its expiry. */
export const expiringReminderMinimumCents = 50;
/** How long before a lot expires its reminder goes out. */
export const expiringReminderWindowSeconds = 7 * 24 * 60 * 60;
const batchSize = 200;
// A bound on one pass, so a backlog cannot keep stop() waiting for long.
const maxRoundsPerPass = 20;

async function inBatches(pass: () => Promise<number>, stopping?: AbortSignal): Promise<number> {
  let total = 0;
  for (let round = 0; round < maxRoundsPerPass && !stopping?.aborted; round++) {
    const done = await pass();
    total += done;
    if (done < batchSize) break;
  }
  return total;
}

/**
 * Turns low-balance notices into emails (once each: the notice is marked in the statement that
 * writes the mail, and several servers take disjoint batches). Returns how many were mailed.
 */
export function mailDueNotices(pool: Pool, input: { currency: string }, stopping?: AbortSignal) {
  return inBatches(async () => {
    const { rows } = await pool.query<{ mailed: number }>(
      "select alerts.mail_due_notices($1, $2) as mailed",
      [batchSize, input.currency],
    );
    return rows[0]?.mailed ?? 0;
  }, stopping);
}

/**
 * Emails, once per lot, credit that expires within a week (lots with at least 50 cents left); safe
 * to run on several servers at once (a lot's reminder row is claimed by whoever inserts it first).
 * Returns how many lots were claimed (mailed, or not mailable: a deleted account, an unproved address).
 */
export function remindExpiringCredits(pool: Pool, input: { currency: string }, stopping?: AbortSignal) {
  return inBatches(async () => {
    const { rows } = await pool.query<{ claimed: number }>(
      "select alerts.remind_expiring_lots($1, $2, $3, $4) as claimed",
      [expiringReminderWindowSeconds, expiringReminderMinimumCents, batchSize, input.currency],
    );
    return rows[0]?.claimed ?? 0;
  }, stopping);
}

/**
 * Mails low-balance notices every `noticeIntervalMs` (default 5 s) and expiring-credit reminders
 * every `expiringIntervalMs` (default 10 minutes) until stopped. A failed pass is logged and tried
 * again at the next tick.
 *
 * @example
 * const jobs = startAlertJobs({ pool, logger, currency: config.currency });
 * await jobs.stop();
 */
export function startAlertJobs(options: {
  pool: Pool;
  logger: Logger;
  currency: string;
  noticeIntervalMs?: number;
  expiringIntervalMs?: number;
}): { stop: () => Promise<void> } {
  const { pool, logger, currency } = options;
  const notices = runPeriodically({
    intervalMs: options.noticeIntervalMs ?? 5_000,
    pass: (stopping) => mailDueNotices(pool, { currency }, stopping),
    onError: (error) =>
      logger.warn({ err: error }, "mailing low-balance alerts failed; retrying on the next tick"),
  });
  const expiring = runPeriodically({
    intervalMs: options.expiringIntervalMs ?? 10 * 60_000,
    pass: (stopping) => remindExpiringCredits(pool, { currency }, stopping),
    onError: (error) =>
      logger.warn({ err: error }, "reminding of expiring credit failed; retrying on the next tick"),
  });
  return {
    stop: async () => {
      await Promise.all([notices.stop(), expiring.stop()]);
    },
  };
}
