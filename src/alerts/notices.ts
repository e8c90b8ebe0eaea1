import type { Pool } from "../db/pool.js";
import { type RequestUser, withUser } from "../db/with-user.js";

/** A banner the web app shows until the person dismisses it (`low_balance`: credit fell below the threshold). */
export type Notice = { id: string; kind: string; data: Record<string, unknown>; createdAt: Date };

type NoticeRow = { id: string; kind: string; data: Record<string, unknown>; created_at: Date };

/** The most banners shown at once; older open ones wait behind them. */
export const openNoticeLimit = 10;

/** The person's open notices, newest first, read under row-level security as the person. */
export async function listOpenNotices(pool: Pool, user: RequestUser): Promise<Notice[]> {
  const { rows } = await withUser(pool, user, (client) =>
    client.query<NoticeRow>(
      `select id::text, kind, data, created_at from alerts.notices
        where dismissed_at is null order by id desc limit $1`,
      [openNoticeLimit],
    ),
  );
  return rows.map((row) => ({ id: row.id, kind: row.kind, data: row.data, createdAt: row.created_at }));
}

/** Dismisses one of the person's notices (again is fine); false when they have none with this id. */
export async function dismissNotice(pool: Pool, input: { userId: string; id: string }): Promise<boolean> {
  const result = await pool.query(
    `update alerts.notices set dismissed_at = coalesce(dismissed_at, now())
      where id = $1 and user_id = $2`,
    [input.id, input.userId],
  );
  return result.rowCount === 1;
}

/**
 * Deletes the person's notices, threshold and reminders, for a person deleting their account. Their
 * promo redemptions stay: they name ledger entries, which stay too.
 */
export async function forgetAlerts(pool: Pool, userId: string): Promise<void> {
  await pool.query("delete from alerts.notices where user_id = $1", [userId]);
  await pool.query("delete from alerts.low_balance where user_id = $1", [userId]);
  await pool.query("delete from alerts.lot_reminders where user_id = $1", [userId]);
}
