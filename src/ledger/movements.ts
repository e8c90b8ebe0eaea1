import { statement } from "../db/statement.js";
import { isRecoverableUniqueViolation, read, runAtomic, type Target } from "./execute.js";
import { assertInvariant, fail, ok } from "./results.js";
import { type BalanceRow, type EntryRow, toBalance, toEntry } from "./rows.js";
import type { Change, EntryKind, Result } from "./types.js";
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
};

// One statement: the conditional balance change and the entry that explains it, so both happen or
// neither does. A debit that is not covered matches no row, so no entry is written. A replayed key
// fails the entry's unique constraint, which undoes the balance change with it.
const moveStatement = statement(
  "ledger_move",
  `
  with moved as (
    update credits.accounts
       set balance_cents = balance_cents + $2::bigint, updated_at = now()
     where user_id = $1 and ($7::boolean or balance_cents - held_cents >= -$2::bigint)
    returning user_id, balance_cents, held_cents
  ), entry as (
    insert into credits.entries (user_id, amount_cents, kind, idempotency_key, reference, description)
    select user_id, $2::bigint, $3, $4, $5, $6 from moved
    returning *
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
    ]);
  } catch (error) {
    if (!isRecoverableUniqueViolation(target, error, "entries_idempotency_key_key")) throw error;
    rows = [];
  }
  const row = rows[0];
  // No row: the key was used before (replay), the account is missing, or the debit is not covered.
  if (!row) return (await replay(target, movement)) ?? explainRefusal(target, movement);
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

async function explainRefusal(target: Target, movement: Signed): Promise<Result<Change>> {
  const [row] = await read<BalanceRow>(
    target,
    "select user_id, balance_cents, held_cents from credits.accounts where user_id = $1",
    [movement.userId],
  );
  if (!row) {
    return fail(
      "ACCOUNT_NOT_FOUND",
      `No credits account for user ${movement.userId}; it is created on first sign-in.`,
    );
  }
  const availableCents = toBalance(row).availableCents;
  const neededCents = movement.amountCents;
  return fail(
    "INSUFFICIENT_CREDITS",
    `This needs ${neededCents} cents but ${Math.max(availableCents, 0)} are available; buy credits to continue.`,
    {
      neededCents,
      availableCents,
    },
  );
}
