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

/**
 * One pool for the process. An idle client's error is logged, never allowed to crash the server.
 * `preparedStatements: false` sends named statements (src/db/statement.ts) unnamed, for poolers in
 * transaction mode (Supavisor on port 6543, PgBouncer before 1.21): there the next transaction may
 * run on a server connection that never saw the statement prepared.
 */
export function createPool(options: {
  url: string;
  max?: number;
  logger: Logger;
  preparedStatements?: boolean;
  /** How long a request waits for a new connection; test files that open many at once on busy cores raise it. */
  connectTimeoutMs?: number;
}): Pool {
  const pool = new pg.Pool({
    ...(options.preparedStatements === false ? { Client: UnnamedStatementsClient } : {}),
    connectionString: options.url,
    max: options.max ?? 20,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    application_name: "coinslot",
    // Queries issued on one client without awaiting each other go out together and are answered in
    // order: a transaction's BEGIN travels with its first statement, and independent statements
    // share one round trip. Queries awaited one by one behave exactly as without it.
    pipeline: true,
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

// Through pg's documented `Client` option: each client the pool makes drops statement names.
class UnnamedStatementsClient extends pg.Client {
  constructor(config?: pg.ClientConfig) {
    super(config);
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    this.query = ((first: unknown, ...rest: unknown[]) =>
      query(withoutName(first), ...rest)) as unknown as pg.Client["query"];
  }
}

function withoutName(config: unknown): unknown {
  if (typeof config !== "object" || config === null || !("name" in config)) return config;
  return { ...config, name: undefined };
}

/** PostgreSQL's SQLSTATE of a failed query (`23505`, `40P01`...), or "" for any other error. */
export function errorCode(error: unknown): string {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : "";
}

// A deadlock or serialization failure rolls the whole transaction back, so running it again is safe.
const conflictCodes = new Set(["40P01", "40001"]);

/**
 * Runs `work` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws.
 * With `attempts` above 1, a transaction that PostgreSQL aborted on a deadlock or serialization
 * failure runs again from the start (so `work` must not act outside the transaction), at most that often.
 *
 * `commitWithWork: true` sends COMMIT right behind the statements `work` issues before it first
 * awaits, in the same round trip. Only for work whose statements are all issued up front and whose
 * outcome needs no decision in between: a refusal must leave nothing to commit (conditional
 * statements), since COMMIT is already on its way; a failed statement aborts the transaction, which
 * makes that COMMIT a ROLLBACK. A statement `work` issues later runs after the COMMIT, on its own.
 *
 * @example
 * await transaction(pool, (client) => client.query("insert ..."));
 */
export async function transaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  options: { attempts?: number; commitWithWork?: boolean } = {},
): Promise<T> {
  const attempts = Math.min(Math.max(options.attempts ?? 1, 1), 10);
  for (let attempt = 1; ; attempt++) {
    try {
      return await transactionOnce(pool, work, options.commitWithWork === true);
    } catch (error) {
      if (attempt >= attempts || !conflictCodes.has(errorCode(error))) throw error;
    }
  }
}

async function transactionOnce<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  commitWithWork: boolean,
): Promise<T> {
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
    // Not awaited alone: the first statement of `work` is sent right behind it, saving a round trip.
    const begun = client.query("begin");
    const working = work(client);
    const committing = commitWithWork ? client.query("commit") : undefined;
    const [, result] = await together([begun, working, committing]);
    if (!committing) await client.query("commit");
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

// The server or the way to it is gone for now (refused, reset, shut down, restarting, starting up,
// class 08 connection exceptions), or the pool could not connect in time: the same work may succeed
// once it is back. Not a statement PostgreSQL refused, which would be refused again.
const connectionCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "57P01",
  "57P02",
  "57P03",
]);
const connectionMessages = [
  "Connection terminated unexpectedly",
  "Connection terminated due to connection timeout",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error and is not queryable",
];

/**
 * Whether `error` says the database could not be reached or dropped the connection, rather than
 * refused a statement: worth trying again once it is back. A transaction cut off this way may still
 * have committed if COMMIT was already sent, so the caller must be able to tell before it repeats one.
 */
export function isConnectionError(error: unknown): boolean {
  const code = errorCode(error);
  if (connectionCodes.has(code) || code.startsWith("08")) return true;
  const message = error instanceof Error ? error.message : "";
  return connectionMessages.some((known) => message.startsWith(known));
}

export type BackoffOptions = {
  /** No attempt starts after this moment (epoch milliseconds); the last error is thrown instead. */
  deadlineMs: number;
  /** Which errors are worth another attempt; any other is thrown at once. */
  isRetryable?: (error: unknown) => boolean;
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** Hears each failed attempt that will be tried again, with the wait before the next. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
};

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/**
 * Runs `work` (given its attempt number, from 1) until it resolves, waiting between attempts on an
 * exponential backoff, capped, with jitter so that many waiting processes do not return at once.
 * Throws the error of the last attempt when it is not retryable or the next would start past the
 * deadline: retrying is bounded in time, never in hope.
 *
 * @example
 * await retryWithBackoff(() => transaction(pool, settle), { deadlineMs: Date.now() + 30_000 });
 */
export async function retryWithBackoff<T>(
  work: (attempt: number) => Promise<T>,
  options: BackoffOptions,
): Promise<T> {
  const isRetryable = options.isRetryable ?? isConnectionError;
  const firstDelayMs = options.firstDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      const ceilingMs = Math.min(maxDelayMs, firstDelayMs * 2 ** Math.min(attempt - 1, 30));
      // Half fixed, half random: never back at once, never much sooner than the curve says.
      const delayMs = Math.round(ceilingMs / 2 + (Math.random() * ceilingMs) / 2);
      if (!isRetryable(error) || Date.now() + delayMs >= options.deadlineMs) throw error;
      options.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}

/**
 * Like Promise.all for statements sent together on one transaction's client, but settles only once
 * every one of them has: a statement whose caller reads again after a refusal must not find its read
 * sent after the ROLLBACK that the first failure triggers. Throws the first failure.
 *
 * @example
 * const [saved, placed] = await together([saveQuestion(client), placeHold(client)]);
 */
export async function together<const T extends readonly unknown[]>(
  statements: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(statements);
  const failed = results.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}
