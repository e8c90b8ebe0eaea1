import { statement } from "../db/statement.js";
import { isRecoverableUniqueViolation, runAtomic, type Target } from "./execute.js";
import { type EntryPage, findAccount, findBalance, readEntryPage } from "./reads.js";
import { accountNotFound, assertInvariant, fail, ok } from "./results.js";
import { type AccountRow, toAccount } from "./rows.js";
import type { Account, Balance, Result } from "./types.js";
import { checkAmount, checkText, checkUserId, isIdText } from "./validate.js";

// The account and its signup bonus in one statement, so an account never exists without the entry
// that explains its balance (and the bonus's promotional lot, expiring after PROMO_CREDIT_DAYS). A second call (or a concurrent first one) finds the user id taken and
// inserts nothing. An address whose earlier account was deleted gets no second bonus (0012).
const ensureStatement = statement(
  "ledger_ensure_account",
  `
  with eligible as (
    select case
             when $3::bigint > 0 and not exists (
               select 1 from credits.accounts c
                where c.closed_email_sha256 = credits.email_fingerprint($2)
             ) then $3::bigint
             else 0
           end as bonus_cents
  ), account as (
    insert into credits.accounts (user_id, email, balance_cents)
    select $1, $2, bonus_cents from eligible
    on conflict (user_id) do nothing
    returning *
  ), bonus as (
    insert into credits.entries (user_id, amount_cents, kind, idempotency_key, description)
    select user_id, balance_cents, 'signup_bonus', 'signup:' || user_id, 'Welcome credits'
      from account
     where balance_cents > 0
    returning id, user_id, amount_cents
  ), lot as (
    insert into credits.lots (user_id, entry_id, category, amount_cents, remaining_cents, expires_at)
    select user_id, id, 'promo', amount_cents, amount_cents, now() + make_interval(days => $4::int) from bonus
  )
  select account.*, (select count(*) from bonus)::int as bonus_entries from account`,
);

/** Creates the account with its signup bonus exactly once; see Ledger.ensureAccount. */
export async function ensureAccount(
  target: Target,
  input: { userId: string; email: string; signupBonusCents: number; promoCreditDays: number },
): Promise<Result<{ account: Account; created: boolean }>> {
  const problem =
    checkUserId(input.userId) ??
    checkAmount(input.signupBonusCents, 0) ??
    checkText("email", input.email, { min: 3, max: 320 });
  if (problem) return problem;
  let rows: (AccountRow & { bonus_entries: number })[];
  try {
    rows = await runAtomic(target, ensureStatement, [
      input.userId,
      input.email,
      input.signupBonusCents,
      input.promoCreditDays,
    ]);
  } catch (error) {
    if (!isRecoverableUniqueViolation(target, error, "accounts_email_key")) throw error;
    // Two first requests of the same person race: the loser can trip the email's unique index
    // before the primary key's, so an email conflict is only another person's when no account
    // exists for this user.
    const mine = await findAccount(target, input.userId);
    if (mine) return ok({ account: mine, created: false });
    return fail("INVALID_ARGUMENT", `Another account already uses ${input.email}; one email, one account.`);
  }
  const [created] = rows;
  if (created) {
    assertInvariant(
      created.bonus_entries === (Number(created.balance_cents) > 0 ? 1 : 0),
      "signup bonus without its entry",
    );
    return ok({ account: toAccount(created), created: true });
  }
  const existing = await findAccount(target, input.userId);
  assertInvariant(existing !== null, "an account that conflicted is missing");
  return ok({ account: existing, created: false });
}

export async function getBalance(target: Target, userId: string): Promise<Result<Balance>> {
  const problem = checkUserId(userId);
  if (problem) return problem;
  const balance = await findBalance(target, userId);
  return balance ? ok(balance) : accountNotFound(userId);
}

export const maxPageSize = 100;
const defaultPageSize = 20;

/** Newest first, by entry id; the cursor is the id of the last entry of the previous page. */
export async function listEntries(
  target: Target,
  input: { userId: string; limit?: number; cursor?: string },
): Promise<Result<EntryPage>> {
  const limit = input.limit ?? defaultPageSize;
  const problem =
    checkUserId(input.userId) ??
    (Number.isInteger(limit) && limit >= 1 && limit <= maxPageSize
      ? null
      : fail("INVALID_ARGUMENT", `limit must be a whole number from 1 to ${maxPageSize}.`)) ??
    (input.cursor === undefined || isIdText(input.cursor)
      ? null
      : fail("INVALID_ARGUMENT", "cursor must be the nextCursor of a previous page."));
  if (problem) return problem;
  const balance = await getBalance(target, input.userId);
  if (balance.error) return balance;
  return ok(await readEntryPage(target, { userId: input.userId, limit, cursor: input.cursor }));
}

// Closing is one statement: every open hold is released, the account drops what they held, and
// the email is replaced by an address that names nobody. The account and its entries stay (the
// ledger is append-only and its sums must keep adding up); only the person's address leaves.
const closeStatement = statement(
  "ledger_close_account",
  `
  with released as (
    update credits.holds
       set status = 'released', resolved_at = now()
     where user_id = $1 and status = 'open'
    returning amount_cents
  ), account as (
    update credits.accounts a
       set held_cents = a.held_cents - (select coalesce(sum(amount_cents), 0) from released),
           closed_email_sha256 = coalesce(a.closed_email_sha256, credits.email_fingerprint(a.email)),
           email = 'deleted-' || md5(a.user_id) || '@deleted.invalid',
           updated_at = now()
     where a.user_id = $1
    returning a.user_id
  )
  select (select count(*) from released)::int as released_holds, (select count(*) from account)::int as accounts`,
);

/** Releases the open holds of `userId` and forgets the account's email; see Ledger.closeAccount. */
export async function closeAccount(
  target: Target,
  userId: string,
): Promise<Result<{ releasedHolds: number; found: boolean }>> {
  const problem = checkUserId(userId);
  if (problem) return problem;
  const [row] = await runAtomic<{ released_holds: number; accounts: number }>(target, closeStatement, [
    userId,
  ]);
  return ok({ releasedHolds: row?.released_holds ?? 0, found: (row?.accounts ?? 0) > 0 });
}

/**
 * Whether an account with this email was deleted before (its fingerprint kept by closeAccount): such
 * an address gets no second starter grant.
 */
export async function emailClosedBefore(target: Target, email: string): Promise<boolean> {
  const rows = await runAtomic<{ found: boolean }>(
    target,
    `select exists (select 1 from credits.accounts
                     where closed_email_sha256 = credits.email_fingerprint($1)) as found`,
    [email],
  );
  return rows[0]?.found === true;
}
