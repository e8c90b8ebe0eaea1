import { type Pool, transaction } from "../db/pool.js";
import { statement } from "../db/statement.js";
import { read, runAtomic, type Target } from "./execute.js";
import { accountNotFound, fail, ok } from "./results.js";
import type { EntryKind, LotCategory, Result } from "./types.js";
import { checkAmount, checkUserId } from "./validate.js";

const dayMs = 86_400_000;
const promoKinds: readonly EntryKind[] = ["signup_bonus", "promo_code"];

/** How long the lots of each category last: PROMO_CREDIT_DAYS, and PAID_CREDIT_DAYS (undefined: forever). */
export type LotDays = { promoCreditDays: number; paidCreditDays: number | undefined };

/**
 * The lot a grant makes: the category the caller names or its kind implies, and when it expires:
 * the caller's date (null: never), else the category's days from now.
 */
export function lotOf(
  days: LotDays,
  input: { kind: EntryKind; category?: LotCategory; expiresAt?: Date | null },
): Result<{ category: LotCategory; expiresAt: Date | null }> {
  const category = input.category ?? (promoKinds.includes(input.kind) ? "promo" : "paid");
  if (category !== "paid" && category !== "promo") {
    return fail("INVALID_ARGUMENT", "category must be paid or promo.");
  }
  if (input.expiresAt !== undefined && input.expiresAt !== null) {
    const time = input.expiresAt instanceof Date ? input.expiresAt.getTime() : Number.NaN;
    // A date already past is allowed (the lot is swept at once): a retried grant must still replay.
    if (!Number.isFinite(time)) {
      return fail("INVALID_ARGUMENT", "expiresAt must be a date, or null for credit that never expires.");
    }
    return ok({ category, expiresAt: input.expiresAt });
  }
  if (input.expiresAt === null) return ok({ category, expiresAt: null });
  const lifetimeDays = category === "promo" ? days.promoCreditDays : days.paidCreditDays;
  return ok({
    category,
    expiresAt: lifetimeDays === undefined ? null : new Date(Date.now() + lifetimeDays * dayMs),
  });
}

/**
 * Locks the account row for the rest of the caller's transaction, as every ledger write does first
 * (so lots and the sweeper wait); false when there is no account.
 */
async function lockAccount(target: Target, userId: string): Promise<boolean> {
  const rows = await read(target, "select 1 from credits.accounts where user_id = $1 for no key update", [
    userId,
  ]);
  return rows.length > 0;
}

const expireStatement = statement("ledger_expire_lots", "select credits.expire_lots($1::int) as expired");

/** Removes what is left of lots past their expiry (at most `limit`); see credits.expire_lots. */
export async function expireLots(
  target: Target,
  input: { limit?: number } = {},
): Promise<{ expired: number }> {
  const limit = Math.min(Math.max(Math.trunc(input.limit ?? 1_000), 1), 10_000);
  const [row] = await runAtomic<{ expired: number }>(target, expireStatement, [limit]);
  return { expired: row?.expired ?? 0 };
}

/**
 * Sets the monthly cap on usage. The account is locked first, so this month's usage, summed from the
 * entries by the next statement (a fresh snapshot), misses no spend that raced it; from then on the
 * usage entries keep the count (0013_credit_lots.sql).
 */
export async function setSpendLimit(
  pool: Pool,
  input: { userId: string; monthlyLimitCents: number | null },
): Promise<Result<{ spendLimitCents: number | null; monthUsageCents: number }>> {
  const problem =
    checkUserId(input.userId) ??
    (input.monthlyLimitCents === null ? null : checkAmount(input.monthlyLimitCents, 0));
  if (problem) return problem;
  return transaction(pool, async (client) => {
    if (!(await lockAccount({ pool, client }, input.userId))) return accountNotFound(input.userId);
    const { rows } = await client.query<{ spend_limit_cents: number | null; month_usage_cents: number }>(
      `update credits.accounts
          set spend_limit_cents = $2,
              month_usage_cents = (select coalesce(-sum(amount_cents), 0) from credits.entries
                                    where user_id = $1 and kind = 'usage' and created_at >= credits.month_start()),
              usage_month = credits.this_month(),
              updated_at = now()
        where user_id = $1
       returning spend_limit_cents, month_usage_cents`,
      [input.userId, input.monthlyLimitCents],
    );
    const row = rows[0];
    return ok({
      spendLimitCents: row?.spend_limit_cents == null ? null : Number(row.spend_limit_cents),
      monthUsageCents: Number(row?.month_usage_cents ?? 0),
    });
  });
}

/**
 * How much of the credit that the purchase named `reference` bought was removed by expiry, read after
 * locking the account (the sweeper skips a locked account), so it cannot change before the caller's
 * clawback in the same transaction. Needs the caller's transaction (`client`).
 */
export async function expiredOfPurchase(
  target: Target,
  input: { userId: string; reference: string },
): Promise<Result<{ expiredCents: number }>> {
  const problem = checkUserId(input.userId);
  if (problem) return problem;
  if (!target.client) return fail("INVALID_ARGUMENT", "expiredOfPurchase runs in the caller's transaction.");
  if (!(await lockAccount(target, input.userId))) return accountNotFound(input.userId);
  const [row] = await read<{ expired_cents: number }>(
    target,
    `select coalesce(sum(d.amount_cents), 0)::bigint as expired_cents
       from credits.entries p
       join credits.lots l on l.entry_id = p.id
       join credits.lot_draws d on d.lot_id = l.id
       join credits.entries x on x.id = d.entry_id and x.kind = 'expiry'
      where p.user_id = $1 and p.kind = 'purchase' and p.reference = $2`,
    [input.userId, input.reference],
  );
  return ok({ expiredCents: Number(row?.expired_cents ?? 0) });
}
