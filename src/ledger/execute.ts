import type { QueryResultRow } from "pg";
import { errorCode, type Pool, type PoolClient } from "../db/pool.js";
import { queryConfig, type Statement } from "../db/statement.js";

/**
 * Where a ledger statement runs: the pool (its own transaction) or the caller's transaction.
 * `savepoint: false` (with a client) means the caller rolls its whole transaction back on any thrown
 * error, so the statement needs no savepoint of its own: two round trips fewer, but a deadlock or a
 * unique violation is thrown to the caller (who may retry the whole transaction), never absorbed.
 */
export type Target = { pool: Pool; client?: PoolClient; savepoint?: boolean };

// A deadlock can only cost a retry, never money: the refused statement was rolled back whole. One
// arises when a replayed placeHold waits on a hold that a settle (waiting on the same account) is
// resolving; PostgreSQL breaks the cycle and the statement runs again. Bounded, like everything.
const maxAttempts = 4;
const retriedCodes = new Set(["40P01", "40001"]);

/**
 * Runs one statement atomically. Alone it is its own transaction (autocommit: one round trip, and
 * no row lock outlives the statement). Inside a caller's transaction it runs under a savepoint, so
 * a refused statement (a unique violation on a replayed key) leaves that transaction usable.
 * A deadlock or serialization failure is retried up to four attempts in all.
 */
export async function runAtomic<Row extends QueryResultRow>(
  target: Target,
  sql: string | Statement,
  values: unknown[],
): Promise<Row[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runOnce<Row>(target, sql, values);
    } catch (error) {
      // Without a savepoint the caller's transaction is already aborted: only the caller can retry.
      if (!absorbsErrors(target)) throw error;
      if (attempt >= maxAttempts || !retriedCodes.has(errorCode(error))) throw error;
    }
  }
}

async function runOnce<Row extends QueryResultRow>(
  target: Target,
  sql: string | Statement,
  values: unknown[],
): Promise<Row[]> {
  const { client } = target;
  const query = queryConfig(sql, values);
  if (!client) return (await target.pool.query<Row>(query)).rows;
  if (target.savepoint === false) return (await client.query<Row>(query)).rows;
  await client.query("savepoint coinslot_ledger");
  try {
    const result = await client.query<Row>(query);
    await client.query("release savepoint coinslot_ledger");
    return result.rows;
  } catch (error) {
    await client.query("rollback to savepoint coinslot_ledger");
    await client.query("release savepoint coinslot_ledger");
    throw error;
  }
}

/** A read, on the caller's transaction when there is one so it sees the caller's own writes. */
export async function read<Row extends QueryResultRow>(
  target: Target,
  sql: string | Statement,
  values: unknown[],
): Promise<Row[]> {
  const runner = target.client ?? target.pool;
  return (await runner.query<Row>(queryConfig(sql, values))).rows;
}

/** False when a failed statement has aborted the caller's transaction (no savepoint to return to). */
function absorbsErrors(target: Target): boolean {
  return !target.client || target.savepoint !== false;
}

/**
 * True when `error` is the unique violation on `constraint` and the target can still read after it,
 * so the operation can answer with the first result (a replay) instead of throwing.
 */
export function isRecoverableUniqueViolation(target: Target, error: unknown, constraint: string): boolean {
  return absorbsErrors(target) && isUniqueViolation(error, constraint);
}

/** True when `error` is PostgreSQL's unique violation on the named constraint. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  if (errorCode(error) !== "23505") return false;
  return (error as { constraint?: unknown }).constraint === constraint;
}
