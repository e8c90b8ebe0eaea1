import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { createPool, type Pool } from "../../src/db/pool.js";
import { createLogger } from "../../src/logger.js";

export type TestDatabase = { url: string; pool: Pool; drop: () => Promise<void> };

function urlFor(name: string): string {
  const url = new URL(inject("adminDatabaseUrl"));
  url.pathname = `/${name}`;
  return url.toString();
}

async function asAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: inject("adminDatabaseUrl") });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A database of its own for one test file, so files run in parallel without seeing each other.
 * Migrated unless `migrated: false`. `drop` ends the pool and removes the database.
 */
export async function createTestDatabase(
  options: { migrated?: boolean; poolSize?: number } = {},
): Promise<TestDatabase> {
  const name = `test_${randomBytes(6).toString("hex")}`;
  await asAdmin(`create database ${name}`);
  const url = urlFor(name);
  // Files run in parallel on two cores, some opening dozens of connections at once (the ledger's
  // history test, 40): a new connection may wait longer than production's 5 s for its turn.
  const pool = createPool({
    url,
    max: options.poolSize ?? 10,
    logger: createLogger("silent"),
    connectTimeoutMs: 30_000,
  });
  if (options.migrated !== false) {
    const result = await migrate(pool);
    if (result.error) throw result.error;
  }
  return {
    url,
    pool,
    drop: async () => {
      await pool.end();
      await asAdmin(`drop database if exists ${name} with (force)`);
    },
  };
}

/**
 * Runs `use` on a pool of one connection to `url`, then names the statements that connection has
 * prepared: one connection, so what was prepared cannot hide on another.
 */
export async function preparedStatementsAfter(
  input: { url: string; preparedStatements?: boolean },
  use: (pool: Pool) => Promise<void>,
): Promise<string[]> {
  const pool = createPool({
    url: input.url,
    max: 1,
    logger: createLogger("silent"),
    ...(input.preparedStatements === undefined ? {} : { preparedStatements: input.preparedStatements }),
  });
  try {
    await use(pool);
    const { rows } = await pool.query<{ name: string }>("select name from pg_prepared_statements");
    return rows.map((row) => row.name);
  } finally {
    await pool.end();
  }
}
