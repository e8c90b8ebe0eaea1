import pg from "pg";
import type { Logger } from "../logger.js";

// bigint columns (int8) hold cents; parse them as JS numbers because every amount is bounded far
// below Number.MAX_SAFE_INTEGER by the ledger's limits, and callers should never juggle strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new Error(`int8 value ${value} is beyond the safe integer range`);
  return parsed;
});

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** One pool for the process. An idle client's error is logged, never allowed to crash the server. */
export function createPool(options: { url: string; max?: number; logger: Logger }): Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 20,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: "coinslot",
  });
  pool.on("error", (error) => options.logger.warn({ err: error }, "idle database connection failed"));
  // A connection that dies while checked out (a terminated backend, a restarted server) can emit
  // 'error' with nobody listening, which would crash the process. The query in flight or the next
  // one fails anyway and the pool discards the connection on release, so logging is enough.
  pool.on("connect", (client) => {
    client.on("error", (error) => options.logger.warn({ err: error }, "database connection failed"));
  });
  return pool;
}

/**
 * Runs `work` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws.
 *
 * @example
 * await transaction(pool, (client) => client.query("insert ..."));
 */
export async function transaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  // pg emits 'error' on a checked-out client whose connection dies between queries (a restarted
  // or terminated backend); unheard, that event would crash the process. The next query rejects
  // anyway, so note it and let the connection be destroyed on release.
  const onConnectionError = () => {
    broken = true;
  };
  client.on("error", onConnectionError);
  try {
    await client.query("begin");
    const result = await work(client);
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback").catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    client.off("error", onConnectionError);
    // A connection whose rollback failed is in an unknown state; destroy it rather than reuse it.
    client.release(broken);
  }
}
