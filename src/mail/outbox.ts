import type { Pool, PoolClient } from "../db/pool.js";

type Queryable = Pick<Pool | PoolClient, "query">;

/** The messages Coinslot sends; each has a template in templates.ts rendered from its `data`. */
export type MailKind =
  | "verify-email"
  | "reset-password"
  | "existing-account"
  | "password-changed"
  | "account-deleted"
  | "auto-topup-failed"
  | "receipt"
  | "low-balance"
  | "credits-expiring";

export type OutgoingMail = {
  kind: MailKind;
  to: string;
  /** What the template needs (a link, a name, an amount); facts only, never rendered text. */
  data: Record<string, unknown>;
  userId?: string;
  /** The same key twice is one message (a receipt per purchase, a notice per event). */
  dedupeKey?: string;
};

/**
 * Writes a message to the mail outbox, to be sent after commit with retries. Pass the transaction
 * client of the cause, so the message commits or rolls back with it. Returns false when a message
 * with the same `dedupeKey` was already written.
 *
 * @example
 * await enqueueMail(client, { kind: "reset-password", to: "ada@example.com", data: { url, name: "Ada" } });
 */
export async function enqueueMail(database: Queryable, mail: OutgoingMail): Promise<boolean> {
  const result = await database.query(
    `insert into mail.outbox (kind, to_address, user_id, data, dedupe_key)
     values ($1, $2, $3, $4, $5)
     on conflict (dedupe_key) do nothing`,
    [mail.kind, mail.to, mail.userId ?? null, JSON.stringify(mail.data), mail.dedupeKey ?? null],
  );
  return result.rowCount === 1;
}
