import type { Pool, PoolClient } from "../db/pool.js";

type Queryable = Pick<Pool | PoolClient, "query">;

/** A promo code as admins see it. */
export type PromoCode = {
  id: string;
  code: string;
  amountCents: number;
  expiresAt: Date | null;
  maxRedemptions: number | null;
  creditDays: number | null;
  redemptions: number;
  disabledAt: Date | null;
  createdBy: string;
  createdAt: Date;
};

export type NewPromoCode = {
  code: string;
  amountCents: number;
  expiresAt: Date | null;
  maxRedemptions: number | null;
  creditDays: number | null;
  createdBy: string;
};

type CodeRow = {
  id: string;
  code: string;
  amount_cents: string;
  expires_at: Date | null;
  max_redemptions: number | null;
  credit_days: number | null;
  redemptions: number;
  disabled_at: Date | null;
  created_by: string;
  created_at: Date;
};

const columns = `id::text, code, amount_cents, expires_at, max_redemptions, credit_days, redemptions,
  disabled_at, created_by, created_at`;

/** The most codes the admin list shows, newest first. */
export const codeListLimit = 200;

function toCode(row: CodeRow): PromoCode {
  return {
    id: row.id,
    code: row.code,
    amountCents: Number(row.amount_cents),
    expiresAt: row.expires_at,
    maxRedemptions: row.max_redemptions,
    creditDays: row.credit_days,
    redemptions: row.redemptions,
    disabledAt: row.disabled_at,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

/** What a person types, as it is stored: trimmed, upper case (codes are case-insensitive). */
export function canonicalCode(typed: string): string {
  return typed.trim().toUpperCase();
}

/** Creates `input`, or returns null when its code is taken (by any code, disabled ones included). */
export async function insertCode(pool: Pool, input: NewPromoCode): Promise<PromoCode | null> {
  const { rows } = await pool.query<CodeRow>(
    `insert into promo.codes (code, amount_cents, expires_at, max_redemptions, credit_days, created_by)
     values ($1, $2, $3, $4, $5, $6)
     on conflict (code) do nothing
     returning ${columns}`,
    [input.code, input.amountCents, input.expiresAt, input.maxRedemptions, input.creditDays, input.createdBy],
  );
  return rows[0] ? toCode(rows[0]) : null;
}

/** The newest codes first, with how often each was redeemed. */
export async function listCodes(pool: Pool): Promise<PromoCode[]> {
  const { rows } = await pool.query<CodeRow>(`select ${columns} from promo.codes order by id desc limit $1`, [
    codeListLimit,
  ]);
  return rows.map(toCode);
}

/** Disables the code (once: a second call keeps the first time); null when there is no such code. */
export async function disableCode(pool: Pool, id: string): Promise<PromoCode | null> {
  const { rows } = await pool.query<CodeRow>(
    `update promo.codes set disabled_at = coalesce(disabled_at, now())
      where id = $1
      returning ${columns}`,
    [id],
  );
  return rows[0] ? toCode(rows[0]) : null;
}

/** The code as typed (any case), or null. */
export async function findCode(database: Queryable, typed: string): Promise<PromoCode | null> {
  const { rows } = await database.query<CodeRow>(`select ${columns} from promo.codes where code = $1`, [
    canonicalCode(typed),
  ]);
  return rows[0] ? toCode(rows[0]) : null;
}

/**
 * Counts one redemption of the code, only while it may still be redeemed: enabled, not expired, under
 * its maximum. One conditional statement that keeps the code's row locked until the transaction
 * ends, so concurrent redemptions queue on it and each sees the count the previous one left.
 */
export async function countRedemption(client: PoolClient, codeId: string): Promise<boolean> {
  const result = await client.query(
    `update promo.codes set redemptions = redemptions + 1
      where id = $1 and disabled_at is null and (expires_at is null or expires_at > now())
        and (max_redemptions is null or redemptions < max_redemptions)`,
    [codeId],
  );
  return result.rowCount === 1;
}

/**
 * Records that `userId` redeemed the code, or returns false when they already did. The primary key
 * (code, user) makes it once per account: a second attempt of the same person waits here for the
 * first to commit, then finds its row.
 */
export async function insertRedemption(
  client: PoolClient,
  input: { codeId: string; userId: string; email: string; amountCents: number },
): Promise<boolean> {
  // Either unique key refuses it: this account, or this address under an earlier, deleted account.
  const result = await client.query(
    `insert into promo.redemptions (code_id, user_id, amount_cents, email_sha256)
     values ($1, $2, $3, credits.email_fingerprint($4))
     on conflict do nothing`,
    [input.codeId, input.userId, input.amountCents, input.email],
  );
  return result.rowCount === 1;
}

/** Notes the ledger entry the redemption's grant wrote. */
export async function recordRedemptionEntry(
  client: PoolClient,
  input: { codeId: string; userId: string; entryId: string },
): Promise<void> {
  await client.query("update promo.redemptions set entry_id = $3 where code_id = $1 and user_id = $2", [
    input.codeId,
    input.userId,
    input.entryId,
  ]);
}
