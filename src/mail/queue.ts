import type { Pool } from "../db/pool.js";
import { statement } from "../db/statement.js";
import type { MailKind } from "./outbox.js";

/** One message as a sender claimed it. */
export type ClaimedMail = {
  id: string;
  kind: MailKind;
  to: string;
  data: unknown;
  createdAt: Date;
  /** Counting the attempt now claimed. */
  attempts: number;
};

type ClaimedRow = {
  id: string;
  kind: MailKind;
  to_address: string;
  data: unknown;
  created_at: Date;
  attempts: number;
};

// SKIP LOCKED lets several senders (one per server) claim at once without waiting on, or taking,
// each other's rows. Claiming counts the attempt and pushes next_attempt_at past the attempt's
// timeout: that lease is what keeps every other sender off the message while it is being sent.
const claimStatement = statement(
  "mail_claim",
  `
  with due as (
    select id from mail.outbox
     where status = 'pending' and next_attempt_at <= now()
     order by next_attempt_at
     limit $1
     for update skip locked
  )
  update mail.outbox o
     set attempts = o.attempts + 1, last_attempt_at = now(),
         next_attempt_at = now() + make_interval(secs => $2::double precision)
    from due
   where o.id = due.id
  returning o.id::text, o.kind, o.to_address, o.data, o.created_at, o.attempts`,
);

/** Claims up to `limit` due messages for `leaseSeconds`, the most overdue first. */
export async function claimDueMail(
  pool: Pool,
  input: { limit: number; leaseSeconds: number },
): Promise<ClaimedMail[]> {
  const { rows } = await pool.query<ClaimedRow>({
    ...claimStatement,
    values: [input.limit, input.leaseSeconds],
  });
  return rows.map((row) => ({
    id: row.id,
    kind: row.kind,
    to: row.to_address,
    data: row.data,
    createdAt: row.created_at,
    attempts: row.attempts,
  }));
}

/** Where a message went: an SMTP server, or the local mailbox of a server without SMTP_URL. */
export type Delivery = "smtp" | "local-mailbox";

/** What one attempt came to: sent, retry at `retryAtMs`, or given up (`retryAtMs` null). */
export type MailOutcome =
  | { sent: true; delivery: Delivery }
  | { sent: false; error: string; retryAtMs: number | null };

/**
 * Records the attempt `mail.attempts`, only while the claim is still ours (same attempt count,
 * still pending): an attempt that outlived its lease must not overwrite its successor's record.
 */
export async function recordMailOutcome(pool: Pool, mail: ClaimedMail, outcome: MailOutcome): Promise<void> {
  const retryAt = outcome.sent || outcome.retryAtMs === null ? null : new Date(outcome.retryAtMs);
  const status = outcome.sent ? "sent" : retryAt ? "pending" : "failed";
  await pool.query(
    `update mail.outbox
        set status = $3, last_error = $4, delivery = $5,
            next_attempt_at = coalesce($6::timestamptz, next_attempt_at),
            sent_at = case when $3 = 'sent' then now() end
      where id = $1 and attempts = $2 and status = 'pending'`,
    [
      mail.id,
      mail.attempts,
      status,
      outcome.sent ? null : outcome.error.slice(0, 500),
      outcome.sent ? outcome.delivery : null,
      retryAt,
    ],
  );
}
