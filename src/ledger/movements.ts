import { statement } from "../db/statement.js";
import { isRecoverableUniqueViolation, read, runAtomic, type Target } from "./execute.js";
import { explainShortfall } from "./refusals.js";
import { assertInvariant, fail, ok } from "./results.js";
import { type BalanceRow, type EntryRow, toBalance, toEntry } from "./rows.js";
import type { Change, EntryKind, LotCategory, Result } from "./types.js";
import { checkChange } from "./validate.js";

/** One movement of credit: how much, which way, and whether it may take available credit below zero. */
export type Movement = {
  userId: string;
  amountCents: number;
  direction: "credit" | "debit";
  kind: EntryKind;
  idempotencyKey: string;
  reference?: string;
  description?: string;
  mayOverdraw: boolean;
  /** A credit's lot: its category and when what is left of it expires (null: never). */
  lot?: { category: LotCategory; expiresAt: Date | null };
};

// One statement: the conditional balance change, the entry that explains it and, for a credit, the
// lot it makes, so all happen or none does. A debit that is not covered matches no row, so no entry
// is written: covered means available credit less what expired lots still hold until their sweep
// (that may not be spent), and, for usage under a spend limit, within this month's limit. A replayed
// key fails the entry's unique constraint, which undoes the balance change with it. The lots follow
// the entry through its trigger (0013_credit_lots.sql).
const moveStatement = statement(
  "ledger_move",
  `
  with moved as (
    update credits.accounts
       set balance_cents = balance_cents + $2::bigint, updated_at = now()
     where user_id = $1
       and ($7::boolean or balance_cents - held_cents - credits.expired_unswept_cents(user_id) >= -$2::bigint)
       and ($3 <> 'usage' or coalesce(credits.spend_limit_room(spend_limit_cents, held_cents, usage_month, month_usage_cents) >= -$2::bigint, true))
    returning user_id, balance_cents, held_cents
  ), entry as (
    insert into credits.entries (user_id, amount_cents, kind, idempotency_key, reference, description)
    select user_id, $2::bigint, $3, $4, $5, $6 from moved
    returning *
  ), lot as (
    insert into credits.lots (user_id, entry_id, category, amount_cents, remaining_cents, expires_at)
    select user_id, id, $8, amount_cents, amount_cents, $9::timestamptz from entry where amount_cents > 0
    returning id
  )
  select to_jsonb(entry) as entry, moved.user_id, moved.balance_cents, moved.held_cents
    from entry, moved`,
);

const replayStatement = statement(
  "ledger_replay_move",
  `
  select to_jsonb(e) as entry, a.user_id, a.balance_cents, a.held_cents
    from credits.entries e join credits.accounts a using (user_id)
   where e.idempotency_key = $1`,
);

type MoveRow = BalanceRow & { entry: EntryRow };
type Signed = Movement & { signedAmountCents: number };

/** Applies a movement exactly once per idempotency key; see Ledger.grant, spend and clawBack. */
export async function move(target: Target, request: Movement): Promise<Result<Change>> {
  const problem = checkChange(request);
  if (problem) return problem;
  const movement = {
    ...request,
    signedAmountCents: request.direction === "credit" ? request.amountCents : -request.amountCents,
  };
  let rows: MoveRow[];
  try {
    rows = await runAtomic<MoveRow>(target, moveStatement, [
      movement.userId,
      movement.signedAmountCents,
      movement.kind,
      movement.idempotencyKey,
      movement.reference ?? null,
      movement.description ?? "",
      movement.mayOverdraw,
      movement.lot?.category ?? "paid",
      movement.lot?.expiresAt ?? null,
    ]);
  } catch (error) {
    if (!isRecoverableUniqueViolation(target, error, "entries_idempotency_key_key")) throw error;
    rows = [];
  }
  const row = rows[0];
  // No row: the key was used before (replay), the account is missing, or the debit is not covered.
  if (!row)
    return (
      (await replay(target, movement)) ??
      explainShortfall(target, { ...movement, usage: movement.kind === "usage" })
    );
  const change: Change = { entry: toEntry(row.entry), balance: toBalance(row), replayed: false };
  assertMoved(change, movement);
  return ok(change);
}

function assertMoved(change: Change, movement: Signed): void {
  assertInvariant(
    change.entry.amountCents === movement.signedAmountCents,
    "entry amount differs from the request",
  );
  assertInvariant(change.balance.heldCents >= 0, "held credit below zero");
  if (!movement.mayOverdraw) {
    assertInvariant(change.balance.availableCents >= 0, "a covered debit left available credit below zero");
  }
}

/** The first result of this key, or IDEMPOTENCY_KEY_REUSED when it was used for something else. */
async function replay(target: Target, movement: Signed): Promise<Result<Change> | null> {
  const [row] = await read<MoveRow>(target, replayStatement, [movement.idempotencyKey]);
  if (!row) return null;
  const entry = toEntry(row.entry);
  const same =
    entry.userId === movement.userId &&
    entry.amountCents === movement.signedAmountCents &&
    entry.kind === movement.kind;
  if (!same) {
    return fail(
      "IDEMPOTENCY_KEY_REUSED",
      `The idempotency key ${JSON.stringify(movement.idempotencyKey)} was already used for a different change (${entry.kind} of ${entry.amountCents} cents); use a new key for a new change.`,
    );
  }
  return ok({ entry, balance: toBalance(row), replayed: true });
}
