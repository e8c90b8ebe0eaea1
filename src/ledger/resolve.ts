import type { PoolClient } from "../db/pool.js";
import { queryConfig, statement } from "../db/statement.js";
import { read, runAtomic, type Target } from "./execute.js";
import { assertInvariant, fail, ok } from "./results.js";
import { type BalanceRow, type EntryRow, type HoldRow, toBalance, toEntry, toHold } from "./rows.js";
import { expireHolds } from "./sweep.js";
import type { Balance, Entry, Hold, Result } from "./types.js";
import {
  checkAmount,
  checkOptionalText,
  isIdText,
  maxDescriptionLength,
  maxReferenceLength,
} from "./validate.js";

export type Resolution = { hold: Hold; entry: Entry | null; balance: Balance };
export type Release = { hold: Hold; balance: Balance };
export type ResolveRow = BalanceRow & { hold: HoldRow; entry: EntryRow | null };
export type SettleInput = { holdId: string; amountCents: number; description?: string; reference?: string };

// Settling is one statement: the hold leaves `open` (only one statement can make that change, so it
// resolves once), the account drops the whole reservation and is charged the settled part, and the
// charge is written as a `usage` entry. Settling more than was held matches no row. It is
// credits.settle_holds's (0018_batched_holds.sql) for one element, so a batched settlement
// (hold-batcher.ts) and a single one are the same SQL.
const settleStatement = statement(
  "ledger_settle_hold",
  `
  select hold, entry, user_id, balance_cents, held_cents
    from credits.settle_holds(array[$1::bigint], array[$2::bigint], array[$3::text], array[$4::text])
   where hold is not null`,
);

const releaseStatement = statement(
  "ledger_release_hold",
  `
  with released as (
    update credits.holds
       set status = 'released', resolved_at = now()
     where id = $1::bigint and status = 'open'
    returning *
  ), account as (
    update credits.accounts a
       set held_cents = a.held_cents - r.amount_cents, updated_at = now()
      from released r
     where a.user_id = r.user_id
    returning a.user_id, a.balance_cents, a.held_cents
  )
  select to_jsonb(released) as hold, null::jsonb as entry, account.user_id, account.balance_cents, account.held_cents
    from released, account`,
);

/** Charges up to the held amount and frees the rest, once; see Ledger.settleHold. */
export async function settleHold(target: Target, input: SettleInput): Promise<Result<Resolution>> {
  const problem = checkSettleHold(input);
  if (problem) return problem;
  const rows = await runAtomic<ResolveRow>(target, settleStatement, settleValues(input));
  return settlementOf(target, input, rows);
}

export function checkSettleHold(input: SettleInput): Result<never> | null {
  return (
    checkHoldId(input.holdId) ??
    checkAmount(input.amountCents, 0) ??
    checkOptionalText("reference", input.reference, maxReferenceLength) ??
    checkOptionalText("description", input.description, maxDescriptionLength)
  );
}

/** Sends the settle statement now, without a savepoint, for the hold protocol (hold-protocol.ts). */
export function sendSettleHold(client: PoolClient, input: SettleInput): Promise<ResolveRow[]> {
  return client
    .query<ResolveRow>(queryConfig(settleStatement, settleValues(input)))
    .then((result) => result.rows);
}

function settleValues(input: SettleInput): unknown[] {
  return [input.holdId, input.amountCents, input.reference ?? null, input.description ?? null];
}

/** What the settle statement's rows mean: the settlement, or why the hold could not be settled. */
export async function settlementOf(
  target: Target,
  input: SettleInput,
  rows: ResolveRow[],
): Promise<Result<Resolution>> {
  const [row] = rows;
  if (!row) return explainUnresolved(target, input.holdId, input.amountCents);
  const resolution = toResolution(row);
  assertInvariant(
    resolution.hold.settledCents === input.amountCents,
    "settled amount differs from the request",
  );
  assertInvariant(input.amountCents <= resolution.hold.amountCents, "settled more than was held");
  return ok(resolution);
}

/** Frees an open hold without charging, once; see Ledger.releaseHold. */
export async function releaseHold(target: Target, input: { holdId: string }): Promise<Result<Release>> {
  const problem = checkHoldId(input.holdId);
  if (problem) return problem;
  const rows = await runAtomic<ResolveRow>(target, releaseStatement, [input.holdId]);
  return releaseOf(target, input, rows);
}

/** Sends the release statement now, without a savepoint, for the hold protocol (hold-protocol.ts). */
export function sendReleaseHold(client: PoolClient, input: { holdId: string }): Promise<ResolveRow[]> {
  return client
    .query<ResolveRow>(queryConfig(releaseStatement, [input.holdId]))
    .then((result) => result.rows);
}

/** What the release statement's rows mean: the release, or why the hold could not be released. */
export async function releaseOf(
  target: Target,
  input: { holdId: string },
  rows: ResolveRow[],
): Promise<Result<Release>> {
  const [row] = rows;
  if (!row) return explainUnresolved(target, input.holdId, 0);
  const { hold, balance } = toResolution(row);
  return ok({ hold, balance });
}

const holdStatement = statement("ledger_hold", "select * from credits.holds where id = $1::bigint");

/** The hold as it is now: still open, or how it resolved; see Ledger.getHold. */
export async function getHold(target: Target, holdId: string): Promise<Result<Hold>> {
  const problem = checkHoldId(holdId);
  if (problem) return problem;
  const [row] = await read<HoldRow>(target, holdStatement, [holdId]);
  return row ? ok(toHold(row)) : fail("HOLD_NOT_FOUND", `No hold ${holdId}.`);
}

function toResolution(row: ResolveRow): Resolution {
  const resolution = {
    hold: toHold(row.hold),
    entry: row.entry ? toEntry(row.entry) : null,
    balance: toBalance(row),
  };
  assertInvariant(resolution.balance.heldCents >= 0, "held credit below zero");
  return resolution;
}

export function checkHoldId(holdId: unknown): Result<never> | null {
  return isIdText(holdId) ? null : fail("INVALID_ARGUMENT", "holdId must be the id placeHold returned.");
}

/** Why a hold could not be resolved: unknown, already resolved, expired, or asked for too much. */
async function explainUnresolved<T>(target: Target, holdId: string, amountCents: number): Promise<Result<T>> {
  const found = await getHold(target, holdId);
  if (!found.data) return fail("HOLD_NOT_FOUND", `No hold ${holdId}.`);
  const hold = found.data;
  if (hold.status !== "open") {
    return fail("HOLD_NOT_OPEN", `Hold ${holdId} is already ${hold.status}; a hold resolves exactly once.`);
  }
  if (amountCents > hold.amountCents) {
    return fail(
      "INVALID_AMOUNT",
      `Hold ${holdId} reserved ${hold.amountCents} cents; settling ${amountCents} would charge more than was held.`,
    );
  }
  // Open but past its expiry: expire it now rather than wait for the sweeper, so the credit is free.
  await expireHolds(target, { limit: 1, holdId });
  return fail(
    "HOLD_NOT_OPEN",
    `Hold ${holdId} expired at ${hold.expiresAt.toISOString()}; place a new hold.`,
  );
}
