import type { Pool } from "../db/pool.js";

/**
 * Deletes every message to or about `userId` from the outbox, sent or not, for a person deleting
 * their account: a pending link to an account that is gone is of no use, and a sent one is personal.
 */
export async function forgetMail(pool: Pool, userId: string): Promise<number> {
  const deleted = await pool.query("delete from mail.outbox where user_id = $1", [userId]);
  return deleted.rowCount ?? 0;
}
