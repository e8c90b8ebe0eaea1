import { statement } from "../db/statement.js";
import { read, type Target } from "./execute.js";
import { type AccountRow, type BalanceRow, type EntryRow, toAccount, toBalance, toEntry } from "./rows.js";
import type { Account, Balance, CreditSummary, Entry, EntryLot, LotCategory } from "./types.js";

// The ledger's reads of record: code outside src/ledger/ reads the credits tables only through these.
// Each takes a Target, so the caller chooses who reads: `{ pool }` reads as the server (admin, command
// line, metrics); `{ pool, client }` with a client from withUser reads as the person, and then
// row-level security, not these WHERE clauses, is what keeps other people's rows out.

const balanceStatement = statement(
  "ledger_find_balance",
  "select user_id, balance_cents, held_cents from credits.accounts where user_id = $1",
);

/**
 * The account's balance and held credit, or null when no account (visible to the reader) exists.
 *
 * @example
 * const balance = await withUser(pool, user, (client) => findBalance({ pool, client }, user.id));
 */
export async function findBalance(target: Target, userId: string): Promise<Balance | null> {
  const [row] = await read<BalanceRow>(target, balanceStatement, [userId]);
  return row ? toBalance(row) : null;
}

/** The whole account row, or null when no account (visible to the reader) exists. */
export async function findAccount(target: Target, userId: string): Promise<Account | null> {
  const [row] = await read<AccountRow>(
    target,
    "select user_id, email, balance_cents, held_cents, created_at from credits.accounts where user_id = $1",
    [userId],
  );
  return row ? toAccount(row) : null;
}

export type EntryPage = { entries: (Entry & { lots: EntryLot[] })[]; nextCursor: string | null };

/**
 * A page as the HTTP contract shows it (GET /api/ledger, GET /v1/customers/:id/entries): each entry's
 * id, amount, kind, description, time and lots, never its user or idempotency key.
 */
export function publicEntryPage(page: EntryPage) {
  const entries = page.entries.map(({ id, amountCents, kind, description, createdAt, lots }) => ({
    id,
    amountCents,
    kind,
    description,
    createdAt,
    lots,
  }));
  return { entries, nextCursor: page.nextCursor };
}

// A credit lists the lot it made; a debit the lots it drew from (0013_credit_lots.sql).
const entryPageStatement = statement(
  "ledger_entry_page",
  `select e.*,
          coalesce(
            (select jsonb_agg(jsonb_build_object('lotId', l.id::text, 'category', l.category,
                                                 'amountCents', l.amount_cents, 'expiresAt', l.expires_at))
               from credits.lots l where l.entry_id = e.id and e.amount_cents > 0),
            (select jsonb_agg(jsonb_build_object('lotId', l.id::text, 'category', l.category,
                                                 'amountCents', d.amount_cents, 'expiresAt', l.expires_at)
                              order by l.id)
               from credits.lot_draws d join credits.lots l on l.id = d.lot_id
              where d.entry_id = e.id and e.amount_cents < 0),
            '[]'::jsonb) as lots
     from credits.entries e
    where e.user_id = $1 and ($2::bigint is null or e.id < $2::bigint)
    order by e.id desc
    limit $3`,
);

type EntryLotRow = { lotId: string; category: LotCategory; amountCents: number; expiresAt: string | null };

/**
 * One page of the account's entries, newest first by entry id; `nextCursor` is the id of the page's
 * last entry when another page follows. The caller has checked `limit` (1 to 100) and `cursor` (an
 * entry id); this only reads.
 */
export async function readEntryPage(
  target: Target,
  input: { userId: string; limit: number; cursor?: string },
): Promise<EntryPage> {
  // One row more than asked tells whether another page exists without a count query.
  const rows = await read<EntryRow & { lots: EntryLotRow[] }>(target, entryPageStatement, [
    input.userId,
    input.cursor ?? null,
    input.limit + 1,
  ]);
  const entries = rows.slice(0, input.limit).map((row) => ({
    ...toEntry(row),
    lots: row.lots.map((lot) => ({
      ...lot,
      amountCents: Number(lot.amountCents),
      expiresAt: lot.expiresAt === null ? null : new Date(lot.expiresAt),
    })),
  }));
  const nextCursor = rows.length > input.limit ? (entries.at(-1)?.id ?? null) : null;
  return { entries, nextCursor };
}

export const accountSearchLimit = 50;

/** Escapes LIKE wildcards so a search for "a_b" finds "a_b", not "axb". */
function literalPattern(query: string): string {
  return `%${query.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

/** Accounts whose email contains `query` or whose user id is `query` (all when empty), newest first, at most 50. */
export async function searchAccounts(target: Target, query: string): Promise<Account[]> {
  const rows = await read<AccountRow>(
    target,
    `select user_id, email, balance_cents, held_cents, created_at
       from credits.accounts
      where $1 = '' or email ilike $2 or user_id = $1
      order by created_at desc, user_id
      limit ${accountSearchLimit}`,
    [query, literalPattern(query)],
  );
  return rows.map(toAccount);
}

/** The user id of the account with this email (any letter case), or null when there is none. */
export async function findUserIdByEmail(target: Target, email: string): Promise<string | null> {
  const [row] = await read<{ user_id: string }>(
    target,
    "select user_id from credits.accounts where lower(email) = lower($1)",
    [email],
  );
  return row?.user_id ?? null;
}

/** How many holds are open and how many cents they reserve, across every account. */
export async function openHoldTotals(target: Target): Promise<{ count: number; cents: number }> {
  const [row] = await read<{ count: number; cents: number }>(
    target,
    "select count(*)::int as count, coalesce(sum(amount_cents), 0)::bigint as cents from credits.holds where status = 'open'",
    [],
  );
  return { count: row?.count ?? 0, cents: row?.cents ?? 0 };
}

/**
 * What the holds whose idempotency key starts with `prefix` hold now, and what those settled since
 * `since` charged: how a caller enforces a spending limit of its own (the gateway's personal keys
 * use `gw:cpk:<key id>:`). Read it in the transaction that places the next hold, after locking what
 * the limit belongs to, so two requests cannot both fit under it.
 */
export async function holdTotalsByKeyPrefix(
  target: Target,
  input: { prefix: string; since: Date },
): Promise<{ openCents: number; settledCents: number }> {
  const [row] = await read<{ open_cents: number; settled_cents: number }>(
    target,
    `select coalesce(sum(amount_cents) filter (where status = 'open'), 0)::bigint as open_cents,
            coalesce(sum(settled_cents) filter (where status = 'settled' and resolved_at >= $2), 0)::bigint as settled_cents
       from credits.holds
      where idempotency_key like $1 || '%' and (status = 'open' or resolved_at >= $2)`,
    [input.prefix.replace(/[\\%_]/g, "\\$&"), input.since],
  );
  return { openCents: Number(row?.open_cents ?? 0), settledCents: Number(row?.settled_cents ?? 0) };
}

const summaryStatement = statement(
  "ledger_credit_summary",
  `select a.user_id, a.balance_cents, a.held_cents, a.spend_limit_cents,
          -- The counter the limit is checked against while one is set; else, only when asked (a
          -- settings page, not every page load), summed from this month's entries.
          case when a.spend_limit_cents is not null
                 then credits.usage_this_month(a.usage_month, a.month_usage_cents)
               when $2::boolean
                 then (select coalesce(-sum(e.amount_cents), 0)::bigint from credits.entries e
                        where e.user_id = a.user_id and e.kind = 'usage' and e.created_at >= credits.month_start())
          end as month_usage_cents,
          credits.expired_unswept_cents(a.user_id) as expired_cents,
          next.amount_cents as next_expiry_cents, next.expires_at as next_expires_at
     from credits.accounts a
     left join lateral (
       select sum(l.remaining_cents)::bigint as amount_cents, l.expires_at
         from credits.lots l
        where l.user_id = a.user_id and l.remaining_cents > 0 and l.expires_at > now()
        group by l.expires_at
        order by l.expires_at
        limit 1
     ) next on true
    where a.user_id = $1`,
);

type SummaryRow = BalanceRow & {
  spend_limit_cents: number | null;
  month_usage_cents: number | null;
  expired_cents: number;
  next_expiry_cents: number | null;
  next_expires_at: Date | null;
};

/**
 * The balance with what the lots add: the credit that expires next and when, this month's usage
 * and the spend limit; `availableCents` leaves out expired credit the sweeper has yet to remove.
 * `monthUsage: false` skips summing this month's usage when no limit keeps count of it (then
 * `monthUsageCents` is null). Null when no account (visible to the reader) exists.
 */
export async function findCreditSummary(
  target: Target,
  userId: string,
  options: { monthUsage?: boolean } = {},
): Promise<CreditSummary | null> {
  const [row] = await read<SummaryRow>(target, summaryStatement, [userId, options.monthUsage ?? true]);
  if (!row) return null;
  const balance = toBalance(row);
  return {
    ...balance,
    availableCents: balance.availableCents - Number(row.expired_cents),
    nextExpiry:
      row.next_expires_at === null
        ? null
        : { amountCents: Number(row.next_expiry_cents), expiresAt: new Date(row.next_expires_at) },
    spendLimitCents: row.spend_limit_cents === null ? null : Number(row.spend_limit_cents),
    monthUsageCents: row.month_usage_cents === null ? null : Number(row.month_usage_cents),
  };
}
