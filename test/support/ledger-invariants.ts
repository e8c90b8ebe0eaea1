import type { Pool } from "../../src/db/pool.js";

/**
 * Every ledger invariant of DESIGN.md that the database's own state can show, each as ONE statement
 * so it reads one snapshot and is valid even while other connections keep writing. Returns the
 * violations found (empty when all hold), each naming the invariant and a few offending rows.
 */
const checks: { invariant: string; sql: string }[] = [
  {
    invariant: "1: balance_cents equals the sum of the account's entries",
    sql: `select a.user_id, a.balance_cents, coalesce(e.total, 0) as entries_total
            from credits.accounts a
            left join (select user_id, sum(amount_cents) as total from credits.entries group by user_id) e using (user_id)
           where a.balance_cents <> coalesce(e.total, 0)`,
  },
  {
    invariant: "1: the total of all balances equals the total of all entries",
    sql: `select balances, entries from (
            select (select coalesce(sum(balance_cents), 0) from credits.accounts) as balances,
                   (select coalesce(sum(amount_cents), 0) from credits.entries) as entries) totals
           where balances <> entries`,
  },
  {
    invariant: "2/5: held_cents equals the sum of the account's open holds",
    sql: `select a.user_id, a.held_cents, coalesce(h.total, 0) as open_total
            from credits.accounts a
            left join (select user_id, sum(amount_cents) as total from credits.holds where status = 'open' group by user_id) h
              using (user_id)
           where a.held_cents <> coalesce(h.total, 0)`,
  },
  {
    invariant: "2: available credit is negative only after a refund or dispute",
    sql: `select a.user_id, a.balance_cents, a.held_cents from credits.accounts a
           where a.balance_cents - a.held_cents < 0
             and not exists (select 1 from credits.entries e where e.user_id = a.user_id and e.kind in ('refund', 'dispute'))`,
  },
  {
    invariant:
      "5: a settled hold has exactly one usage entry of its settled amount (none when 0), other holds none",
    sql: `select h.id, h.status, h.settled_cents, e.amount_cents
            from credits.holds h
            left join credits.entries e on e.idempotency_key = 'hold:' || h.id || ':settle'
           where (h.status = 'settled' and h.settled_cents > 0) <> (e.id is not null)
              or (e.id is not null and (e.amount_cents <> -h.settled_cents or e.user_id <> h.user_id or e.kind <> 'usage'))
              or h.settled_cents > h.amount_cents`,
  },
  {
    invariant: "5: usage entries come from settled holds or from spends, never from an unsettled hold",
    sql: `select e.id, e.idempotency_key from credits.entries e
           where e.idempotency_key like 'hold:%:settle'
             and not exists (select 1 from credits.holds h where 'hold:' || h.id || ':settle' = e.idempotency_key and h.status = 'settled')`,
  },
  {
    invariant: "lots: an account's lots add up to its balance",
    sql: `select a.user_id, a.balance_cents, coalesce(l.total, 0) as lots_total
            from credits.accounts a
            left join (select user_id, sum(remaining_cents) as total from credits.lots group by user_id) l using (user_id)
           where a.balance_cents <> coalesce(l.total, 0)`,
  },
  {
    invariant: "lots: what a lot holds is what the open holds reserved of it",
    sql: `select l.id, l.held_cents, coalesce(r.total, 0) as reserved
            from credits.lots l
            left join (select p.lot_id, sum(p.amount_cents) as total from credits.hold_lots p
                         join credits.holds h on h.id = p.hold_id where h.status = 'open' group by p.lot_id) r
              on r.lot_id = l.id
           where l.held_cents <> coalesce(r.total, 0)`,
  },
  {
    invariant: "lots: every open hold reserved its whole amount from lots",
    sql: `select h.id, h.amount_cents, coalesce(sum(p.amount_cents), 0) as reserved
            from credits.holds h left join credits.hold_lots p on p.hold_id = h.id
           where h.status = 'open'
           group by h.id, h.amount_cents
          having h.amount_cents <> coalesce(sum(p.amount_cents), 0)`,
  },
  {
    invariant: "lots: every credit made exactly one lot of its amount",
    sql: `select e.id, e.amount_cents, count(l.id) as lots
            from credits.entries e left join credits.lots l on l.entry_id = e.id
           where e.amount_cents > 0 and e.id > credits.last_entry_before_lots()
           group by e.id, e.amount_cents
          having count(l.id) <> 1 or min(l.amount_cents) <> e.amount_cents`,
  },
  {
    invariant: "lots: every debit drew its whole amount from lots (a clawback's excess as a debt lot)",
    sql: `select e.id, e.kind, e.amount_cents, coalesce(d.total, 0) as drawn, debt.amount_cents as debt
            from credits.entries e
            left join (select entry_id, sum(amount_cents) as total from credits.lot_draws group by entry_id) d
              on d.entry_id = e.id
            left join credits.lots debt on debt.entry_id = e.id and debt.amount_cents < 0
           where e.amount_cents < 0 and e.id > credits.last_entry_before_lots()
             and -e.amount_cents <> coalesce(d.total, 0) - coalesce(debt.amount_cents, 0)`,
  },
  {
    invariant: "lots: a debt never stands beside free credit (free credit pays debts first)",
    sql: `select d.user_id, d.id as debt_lot, f.id as free_lot
            from credits.lots d
            join credits.lots f on f.user_id = d.user_id and f.remaining_cents > f.held_cents
           where d.remaining_cents < 0`,
  },
  {
    invariant: "lots: nothing draws from a lot after its expiry entry",
    sql: `select l.id, x.id as expiry_entry, d.entry_id as later_draw
            from credits.lots l
            join credits.entries x on x.idempotency_key = 'lot:' || l.id || ':expiry'
            join credits.lot_draws d on d.lot_id = l.id and d.entry_id > x.id`,
  },
  {
    invariant:
      "lots: no spend or hold takes from a lot past its expiry (a settlement may charge what its hold reserved)",
    sql: `select l.id, l.expires_at, e.id as entry, e.kind, e.created_at
            from credits.lot_draws d
            join credits.lots l on l.id = d.lot_id
            join credits.entries e on e.id = d.entry_id
           where l.expires_at <= e.created_at and e.amount_cents < 0
             and e.kind not in ('refund', 'dispute', 'expiry') and e.idempotency_key not like 'hold:%:settle'
          union all
          select l.id, l.expires_at, h.id, 'hold', h.created_at
            from credits.hold_lots p
            join credits.lots l on l.id = p.lot_id
            join credits.holds h on h.id = p.hold_id
           where l.expires_at <= h.created_at`,
  },
];

export async function findInvariantViolations(pool: Pool): Promise<string[]> {
  const found = await Promise.all(
    checks.map(async (check) => {
      const { rows } = await pool.query(`${check.sql} limit 5`);
      return rows.length > 0 ? [`invariant ${check.invariant}: ${JSON.stringify(rows)}`] : [];
    }),
  );
  return found.flat();
}

/** Invariant 6 for one user: as `authenticated` with their claims, only their rows are visible and nothing can be written. */
export async function findVisibilityViolations(pool: Pool, userId: string): Promise<string[]> {
  const client = await pool.connect();
  const problems: string[] = [];
  try {
    await client.query("begin");
    await client.query(
      "select set_config('request.jwt.claims', $1, true), set_config('role', 'authenticated', true)",
      [JSON.stringify({ sub: userId, role: "authenticated" })],
    );
    for (const table of ["accounts", "entries", "holds", "lots", "lot_draws", "hold_lots"]) {
      const { rows } = await client.query(
        `select count(*)::int as others from credits.${table} where user_id <> $1`,
        [userId],
      );
      if (rows[0]?.others !== 0)
        problems.push(`invariant 6: ${userId} sees ${rows[0]?.others} rows of others in ${table}`);
    }
    await client.query("savepoint attempt");
    const write = await client
      .query("update credits.accounts set balance_cents = balance_cents + 1000 where user_id = $1", [userId])
      .then(
        () => "allowed",
        () => "refused",
      );
    if (write === "allowed") problems.push(`invariant 6: ${userId} could update their own balance`);
  } finally {
    await client.query("rollback");
    client.release();
  }
  return problems;
}
