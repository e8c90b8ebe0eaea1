import type { Pool } from "../db/pool.js";
import type { Change, Entry, EntryKind } from "./types.js";

export type SpendRequest = {
  userId: string;
  amountCents: number;
  kind: EntryKind;
  idempotencyKey: string;
  reference: string | null;
  description: string;
};

/** What the batch statement decided for one request: applied (with its entry), or left to the one-by-one path. */
export type BatchDecision = { applied: Change } | { individually: true };

// Many spends in ONE statement, so one commit serves them all. The accounts are locked in user id
// order (no deadlock between batches), then a recursive walk takes the requests in arrival order,
// exactly as if they ran one after another: each applies only if the room left by those before it
// covers it (available credit less what expired lots hold until their sweep, and within the spend
// limit, counted for every kind the batcher takes as for usage). The debit per account is one conditional UPDATE of the accepted total,
// and entries are written only for accounts that UPDATE actually debited, so balance and entries
// move together or not at all. A key already in the ledger is not applied here but answered by the
// one-by-one path (replay or IDEMPOTENCY_KEY_REUSED); a key racing in from elsewhere makes the
// statement fail on the unique constraint, and the whole batch takes the one-by-one path.
const batchStatement = `
  with recursive locked as (
    select user_id, balance_cents, held_cents,
           least(balance_cents - held_cents - credits.expired_unswept_cents(user_id),
                 credits.spend_limit_room(spend_limit_cents, held_cents, usage_month, month_usage_cents)) as room_cents
      from credits.accounts
     where user_id = any($1::text[])
     order by user_id
       for no key update
  ), walk(position, available, accepted) as (
    select 0, (select coalesce(jsonb_object_agg(user_id, room_cents), '{}'::jsonb) from locked), false
    union all
    select step.position, case when step.accepted then step.after else w.available end, step.accepted
      from walk w
      cross join lateral (
        select w.position + 1 as position,
               jsonb_set(w.available, array[($1::text[])[w.position + 1]],
                 to_jsonb((w.available ->> ($1::text[])[w.position + 1])::bigint - ($2::bigint[])[w.position + 1])) as after,
               coalesce((w.available ->> ($1::text[])[w.position + 1])::bigint >= ($2::bigint[])[w.position + 1], false)
                 and not exists (select 1 from credits.entries where idempotency_key = ($4::text[])[w.position + 1])
                 as accepted
      ) step
     where w.position < cardinality($1::text[])
  ), decided as (
    select w.position, w.accepted, ($1::text[])[w.position] as user_id, ($2::bigint[])[w.position] as amount_cents,
           ($3::text[])[w.position] as kind, ($4::text[])[w.position] as idempotency_key,
           ($5::text[])[w.position] as reference, ($6::text[])[w.position] as description,
           l.balance_cents - l.held_cents - sum(case when w.accepted then ($2::bigint[])[w.position] else 0 end)
             over (partition by ($1::text[])[w.position] order by w.position) as available_after
      from walk w
      left join locked l on l.user_id = ($1::text[])[w.position]
     where w.position > 0
  ), debit as (
    update credits.accounts a
       set balance_cents = a.balance_cents - t.total_cents, updated_at = now()
      from (select user_id, sum(amount_cents)::bigint as total_cents from decided where accepted group by user_id) t
     where a.user_id = t.user_id and a.balance_cents - a.held_cents >= t.total_cents
    returning a.user_id, a.held_cents
  ), entry as (
    insert into credits.entries (user_id, amount_cents, kind, idempotency_key, reference, description)
    select d.user_id, -d.amount_cents, d.kind, d.idempotency_key, d.reference, d.description
      from decided d join debit using (user_id)
     where d.accepted
     order by d.position
    returning id, idempotency_key, created_at
  )
  select d.position, d.available_after, debit.held_cents, entry.id, entry.created_at
    from decided d
    left join debit using (user_id)
    left join entry using (idempotency_key)
   order by d.position`;

type DecisionRow = {
  position: number;
  available_after: number | null;
  held_cents: number | null;
  id: number | null;
  created_at: Date | null;
};

/** Applies `requests` (distinct keys) in one statement; see batchStatement for how it decides. */
export async function applySpendBatch(pool: Pool, requests: SpendRequest[]): Promise<BatchDecision[]> {
  const column = <K extends keyof SpendRequest>(name: K) => requests.map((request) => request[name]);
  const { rows } = await pool.query<DecisionRow>(batchStatement, [
    column("userId"),
    column("amountCents"),
    column("kind"),
    column("idempotencyKey"),
    column("reference"),
    column("description"),
  ]);
  return requests.map((request, index) => {
    const row = rows[index];
    if (!row || row.id === null || row.available_after === null || row.held_cents === null) {
      return { individually: true };
    }
    return {
      applied: toChange(request, row as Required<{ [K in keyof DecisionRow]: NonNullable<DecisionRow[K]> }>),
    };
  });
}

function toChange(
  request: SpendRequest,
  row: { available_after: number; held_cents: number; id: number; created_at: Date },
): Change {
  const entry: Entry = {
    id: String(row.id),
    userId: request.userId,
    amountCents: -request.amountCents,
    kind: request.kind,
    idempotencyKey: request.idempotencyKey,
    reference: request.reference,
    description: request.description,
    createdAt: row.created_at,
  };
  const heldCents = Number(row.held_cents);
  const availableCents = Number(row.available_after);
  return {
    entry,
    balance: { userId: request.userId, balanceCents: availableCents + heldCents, heldCents, availableCents },
    replayed: false,
  };
}
