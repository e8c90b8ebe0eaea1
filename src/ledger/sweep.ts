import { statement } from "../db/statement.js";
import { runAtomic, type Target } from "./execute.js";

// One statement expires a batch. SKIP LOCKED lets several processes sweep at once without waiting
// on (or double-expiring) each other's holds; accounts are locked in user id order so two sweepers
// freeing credit on the same accounts can never deadlock.
const expireStatement = statement(
  "ledger_expire_holds",
  `
  with due as (
    select id from credits.holds
     where status = 'open' and expires_at <= now() and ($2::bigint is null or id = $2::bigint)
     order by expires_at
     limit $1
     for update skip locked
  ), expired as (
    update credits.holds h
       set status = 'expired', resolved_at = now()
      from due
     where h.id = due.id and h.status = 'open'
    returning h.user_id, h.amount_cents
  ), freed_by_user as (
    select user_id, sum(amount_cents)::bigint as freed_cents from expired group by user_id
  ), locked as (
    select a.user_id from credits.accounts a join freed_by_user using (user_id)
     order by a.user_id
       for update of a
  ), freed as (
    update credits.accounts a
       set held_cents = a.held_cents - f.freed_cents, updated_at = now()
      from freed_by_user f join locked using (user_id)
     where a.user_id = f.user_id
    returning a.user_id
  )
  select (select count(*) from expired)::int as expired, (select count(*) from freed)::int as accounts`,
);

export const maxSweepLimit = 10_000;

/** Expires open holds past `expires_at` (at most `limit`, or just `holdId`) and frees their credit. */
export async function expireHolds(
  target: Target,
  input: { limit?: number; holdId?: string } = {},
): Promise<{ expired: number }> {
  const limit = Math.min(Math.max(Math.trunc(input.limit ?? 1_000), 1), maxSweepLimit);
  const [row] = await runAtomic<{ expired: number }>(target, expireStatement, [limit, input.holdId ?? null]);
  return { expired: row?.expired ?? 0 };
}
