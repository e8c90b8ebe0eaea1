import type { QueryResultRow } from "pg";
import type { Pool, PoolClient } from "../db/pool.js";

/** Where a ledger statement runs: the pool (its own transaction) or the caller's transaction. */
export type Target = { pool: Pool; client?: PoolClient };

/**
 * Runs one statement atomically. Alone it is its own transaction (autocommit: one round trip, and
 * no row lock outlives the statement). Inside a caller's transaction it runs under a savepoint, so
 * a refused statement (a unique violation on a replayed key) leaves that transaction usable.
 */
export async function runAtomic<Row extends QueryResultRow>(
  target: Target,
  text: string,
  values: unknown[],
): Promise<Row[]> {
  const { client } = target;
  if (!client) return (await target.pool.query<Row>(text, values)).rows;
  await client.query("savepoint coinslot_ledger");
  try {
    const result = await client.query<Row>(text, values);
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
  text: string,
  values: unknown[],
): Promise<Row[]> {
  const runner = target.client ?? target.pool;
  return (await runner.query<Row>(text, values)).rows;
}

/** True when `error` is PostgreSQL's unique violation on the named constraint. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  if (typeof error !== "object" || error === null) return false;
  const fields = error as { code?: unknown; constraint?: unknown };
  return fields.code === "23505" && fields.constraint === constraint;
}
