import { errorCode, type Pool, type PoolClient } from "../db/pool.js";
import type { Target } from "./execute.js";
import {
  checkPlaceHold,
  type HoldPlacement,
  type PlaceHoldInput,
  placementOf,
  sendPlaceHold,
} from "./holds.js";
import {
  checkHoldId,
  checkSettleHold,
  type Release,
  type Resolution,
  releaseOf,
  type SettleInput,
  sendReleaseHold,
  sendSettleHold,
  settlementOf,
} from "./resolve.js";
import type { DependentWrite, Guarded, Result } from "./types.js";

export type HoldProtocolTarget = { pool: Pool; client: PoolClient };

/**
 * The hold protocol: places a hold and, in the caller's transaction and the same round trip, sends
 * `writes` of another module that must commit with this hold or not at all (the chat saves its
 * question and starts its answer so). settleHoldThen and releaseHoldThen do the same for a write
 * that must commit with a hold's resolution (the chat's answer, saved with what it cost).
 *
 * The ordering rule. The ledger sends the hold's statement first and each write right behind it, on
 * the caller's client, all before anything is awaited, and never under a savepoint. Each write's SQL
 * carries a guard the ledger owns (`holdPlacedByThisTransaction`, `holdResolvedAs`), so it changes
 * nothing unless the hold came out as required. Why each part holds:
 * - The statements of one transaction run in the order they are sent, so a guard sees the hold's
 *   statement done. Sent before any await, with pg's pipeline mode they share one round trip, and the
 *   caller may send COMMIT right behind them (`transaction(..., { commitWithWork: true })`): a refused
 *   hold leaves every write changing nothing, so there is nothing wrong to commit.
 * - No savepoint: `holdPlacedByThisTransaction` knows the hold as this transaction's by its row's
 *   xmin, which a savepoint would make a subtransaction's. So a failed statement aborts the caller's
 *   transaction: the caller must roll it back whole on any thrown error (a racing request's unique
 *   violation is thrown, never answered as a replay, and a deadlock is the caller's to retry).
 * - The answer comes only once every statement has: a read the ledger sends after a refusal, to
 *   explain it, is never sent after the ROLLBACK that a failed write makes the caller send.
 * `src/ledger/hold-protocol.test.ts` pins each part.
 *
 * @example
 * const { result, rowCounts } = await ledger.placeHoldThen({
 *   client, userId, amountCents: 40, idempotencyKey: key,
 *   writes: [{ ...saveQuestionStatement, values: [userId, questionId, key] }], // guarded on $3
 * });
 */
export function placeHoldThen(
  target: HoldProtocolTarget,
  input: PlaceHoldInput,
  writes: readonly DependentWrite[],
): Promise<Guarded<HoldPlacement>> {
  return holdFirst(target, writes, {
    problem: checkPlaceHold(input),
    send: () => sendPlaceHold(target.client, input),
    answer: (rows) => placementOf(unsaved(target), input, rows),
  });
}

/** Settles a hold, then sends `writes` guarded by `holdResolvedAs`; see placeHoldThen. */
export function settleHoldThen(
  target: HoldProtocolTarget,
  input: SettleInput,
  writes: readonly DependentWrite[],
): Promise<Guarded<Resolution>> {
  return holdFirst(target, writes, {
    problem: checkSettleHold(input),
    send: () => sendSettleHold(target.client, input),
    answer: (rows) => settlementOf(unsaved(target), input, rows),
  });
}

/** Releases a hold, then sends `writes` guarded by `holdResolvedAs`; see placeHoldThen. */
export function releaseHoldThen(
  target: HoldProtocolTarget,
  input: { holdId: string },
  writes: readonly DependentWrite[],
): Promise<Guarded<Release>> {
  return holdFirst(target, writes, {
    problem: checkHoldId(input.holdId),
    send: () => sendReleaseHold(target.client, input),
    answer: (rows) => releaseOf(unsaved(target), input, rows),
  });
}

const parameterPattern = /^\$[1-9][0-9]*$/;

function checkParameter(parameter: string): string {
  if (!parameterPattern.test(parameter)) throw new Error(`${parameter} is not a parameter such as $7`);
  return parameter;
}

/**
 * SQL that is true only when this very transaction placed the hold whose idempotency key is in
 * `keyParameter` (its row's xmin is ours): not a hold placed before, by another transaction, or
 * under a savepoint. For writes that placeHoldThen sends.
 *
 * @example
 * `insert into chat.messages (...) select $1, $2 where ${holdPlacedByThisTransaction("$3")}`
 */
export function holdPlacedByThisTransaction(keyParameter: string): string {
  const key = checkParameter(keyParameter);
  return `exists (select 1 from credits.holds
                   where idempotency_key = ${key}::text and xmin = pg_current_xact_id()::xid)`;
}

/**
 * SQL that is true when the hold whose id is in `idParameter` has the status in `statusParameter`
 * (`settled`, `released`): for writes that settleHoldThen or releaseHoldThen send, which must not say
 * a hold was charged when the ledger refused the charge.
 */
export function holdResolvedAs(idParameter: string, statusParameter: string): string {
  const id = checkParameter(idParameter);
  const status = checkParameter(statusParameter);
  return `exists (select 1 from credits.holds where id = ${id}::bigint and status = ${status}::text)`;
}

type HoldStatement<Row, T> = {
  /** Input the ledger refuses before sending anything: then no write is sent either. */
  problem: Result<never> | null;
  /** Sends the hold's statement at once (not async, no savepoint). */
  send: () => Promise<Row[]>;
  /** What its rows mean; may read to explain a refusal. */
  answer: (rows: Row[]) => Promise<Result<T>>;
};

/** The ordering rule (see placeHoldThen), in code: the hold's statement, then every write, nothing awaited between. */
async function holdFirst<Row, T>(
  target: HoldProtocolTarget,
  writes: readonly DependentWrite[],
  hold: HoldStatement<Row, T>,
): Promise<Guarded<T>> {
  if (hold.problem) return { result: hold.problem, rowCounts: writes.map(() => 0) };
  const answered = hold.send().then(hold.answer);
  const written = writes.map((write) => target.client.query(write));
  const [outcome, ...writeOutcomes] = await Promise.allSettled([answered, ...written]);
  const failures = [outcome, ...writeOutcomes].flatMap((settled) =>
    settled.status === "rejected" ? [settled.reason] : [],
  );
  // A racing request's hold or write (a unique violation) outranks the failures it caused after it
  // (every later statement of an aborted transaction fails too).
  if (failures.length > 0) throw failures.find((error) => errorCode(error) === "23505") ?? failures[0];
  return {
    result: (outcome as PromiseFulfilledResult<Result<T>>).value,
    rowCounts: writeOutcomes.map(
      (settled) => (settled as PromiseFulfilledResult<{ rowCount: number | null }>).value.rowCount ?? 0,
    ),
  };
}

/** The caller's transaction without savepoints, for the reads and the expiry that explain a refusal. */
function unsaved(target: HoldProtocolTarget): Target {
  return { pool: target.pool, client: target.client, savepoint: false };
}
