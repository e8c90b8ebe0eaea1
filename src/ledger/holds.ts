import type { PoolClient } from "../db/pool.js";
import { queryConfig, statement } from "../db/statement.js";
import { isRecoverableUniqueViolation, read, runAtomic, type Target } from "./execute.js";
import { explainShortfall } from "./refusals.js";
import { assertInvariant, fail, ok } from "./results.js";
import { type BalanceRow, type HoldRow, toBalance, toHold } from "./rows.js";
import type { Balance, Hold, Result } from "./types.js";
import { checkChange, maxTtlSeconds } from "./validate.js";

export type PlaceHoldInput = {
  userId: string;
  amountCents: number;
  idempotencyKey: string;
  description?: string;
  ttlSeconds: number;
};

export type HoldPlacement = { hold: Hold; balance: Balance; replayed: boolean };
export type HoldBalanceRow = BalanceRow & { hold: HoldRow };

// Reserve and record in one statement: the reservation happens only if spendable credit covers it
// and the spend limit (every hold is for usage) has room, as for a debit (movements.ts);
// and a replayed key fails the hold's unique constraint, which undoes the reservation with it. A key
// already placed does not even lock the account (`not exists`): waiting on that hold's row while
// holding the account would deadlock with a settle that holds the hold and waits for the account.
// The statement is credits.place_holds's (0018_batched_holds.sql) for one element, so a batched hold
// (hold-batcher.ts) and a single one are the same SQL; no row when it did not apply.
const placeStatement = statement(
  "ledger_place_hold",
  `
  select hold, user_id, balance_cents, held_cents
    from credits.place_holds(array[$1::text], array[$2::bigint], array[$3::text], array[$4::text], array[$5::int])
   where hold is not null`,
);

const replayStatement = statement(
  "ledger_replay_hold",
  `
  select to_jsonb(h) as hold, a.user_id, a.balance_cents, a.held_cents
    from credits.holds h join credits.accounts a using (user_id)
   where h.idempotency_key = $1`,
);

/** Reserves credit until it is settled, released or expires; see Ledger.placeHold. */
export async function placeHold(target: Target, input: PlaceHoldInput): Promise<Result<HoldPlacement>> {
  const problem = checkPlaceHold(input);
  if (problem) return problem;
  let rows: HoldBalanceRow[];
  try {
    rows = await runAtomic<HoldBalanceRow>(target, placeStatement, placeValues(input));
  } catch (error) {
    if (!isRecoverableUniqueViolation(target, error, "holds_idempotency_key_key")) throw error;
    rows = [];
  }
  return placementOf(target, input, rows);
}

export function checkPlaceHold(input: PlaceHoldInput): Result<never> | null {
  return checkChange(input) ?? checkTtl(input.ttlSeconds);
}

/**
 * Sends the hold's statement on the caller's transaction now, not after an await, and without a
 * savepoint: the hold protocol's ordering rule rests on both (hold-protocol.ts). Not async on purpose.
 */
export function sendPlaceHold(client: PoolClient, input: PlaceHoldInput): Promise<HoldBalanceRow[]> {
  return client
    .query<HoldBalanceRow>(queryConfig(placeStatement, placeValues(input)))
    .then((result) => result.rows);
}

function placeValues(input: PlaceHoldInput): unknown[] {
  return [input.userId, input.amountCents, input.idempotencyKey, input.description ?? "", input.ttlSeconds];
}

/** What the hold statement's rows mean: the hold placed, or the first one replayed, or why not. */
export async function placementOf(
  target: Target,
  input: PlaceHoldInput,
  rows: HoldBalanceRow[],
): Promise<Result<HoldPlacement>> {
  const row = rows[0];
  if (!row) return (await replayHold(target, input)) ?? explainShortfall(target, { ...input, usage: true });
  const placed = { hold: toHold(row.hold), balance: toBalance(row), replayed: false };
  assertInvariant(placed.balance.availableCents >= 0, "a hold left available credit below zero");
  assertInvariant(placed.hold.amountCents === input.amountCents, "hold amount differs from the request");
  return ok(placed);
}

function checkTtl(ttlSeconds: unknown): Result<never> | null {
  if (
    typeof ttlSeconds === "number" &&
    Number.isInteger(ttlSeconds) &&
    ttlSeconds >= 1 &&
    ttlSeconds <= maxTtlSeconds
  ) {
    return null;
  }
  return fail("INVALID_ARGUMENT", `ttlSeconds must be a whole number from 1 to ${maxTtlSeconds}.`);
}

async function replayHold(target: Target, input: PlaceHoldInput): Promise<Result<HoldPlacement> | null> {
  const [row] = await read<HoldBalanceRow>(target, replayStatement, [input.idempotencyKey]);
  if (!row) return null;
  const hold = toHold(row.hold);
  if (hold.userId !== input.userId || hold.amountCents !== input.amountCents) {
    return fail(
      "IDEMPOTENCY_KEY_REUSED",
      `The idempotency key ${JSON.stringify(input.idempotencyKey)} was already used for a different hold (${hold.amountCents} cents); use a new key for a new hold.`,
    );
  }
  return ok({ hold, balance: toBalance(row), replayed: true });
}
