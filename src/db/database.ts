import { join } from "node:path";
import type { Config } from "../config.js";
import { loadLocalSecrets } from "../local-secrets.js";
import type { Logger } from "../logger.js";
import { runningEmbeddedPostgres, startEmbeddedPostgres } from "./embedded.js";
import { createPool, type Pool } from "./pool.js";

export type Database = { pool: Pool; embeddedPort: number | undefined; close: () => Promise<void> };

const embeddedPreferredPort = 54329;

function embeddedDirectory(config: Config): string {
  return join(config.dataDir, "postgres");
}

function embeddedUrl(config: Config, port: number): string {
  const password = encodeURIComponent(loadLocalSecrets(config.dataDir).embeddedPostgresPassword);
  return `postgres://postgres:${password}@127.0.0.1:${port}/coinslot`;
}

/**
 * The process's database: the server at DATABASE_URL, or else a real PostgreSQL started from
 * DATA_DIR. `close` ends the pool and stops the embedded server when there is one.
 */
export async function openDatabase(
  config: Config,
  logger: Logger,
  options: { poolSize?: number } = {},
): Promise<Database> {
  if (config.databaseUrl) {
    const pool = createPool({
      url: config.databaseUrl,
      logger,
      max: options.poolSize,
      preparedStatements: config.databasePreparedStatements,
    });
    return { pool, embeddedPort: undefined, close: () => pool.end() };
  }
  const embedded = await startEmbeddedPostgres({
    directory: embeddedDirectory(config),
    password: loadLocalSecrets(config.dataDir).embeddedPostgresPassword,
    preferredPort: embeddedPreferredPort,
    logger,
  });
  logger.info({ port: embedded.port }, `embedded PostgreSQL is running on 127.0.0.1:${embedded.port}`);
  const pool = createPool({ url: embedded.url, logger, max: options.poolSize });
  return {
    pool,
    embeddedPort: embedded.port,
    close: async () => {
      await pool.end();
      await embedded.stop();
    },
  };
}

/**
 * For commands (doctor, cli) that may run beside a started server: join the embedded PostgreSQL
 * already running on DATA_DIR when there is one, else open the database as the server would.
 */
export async function openDatabaseForCommand(config: Config, logger: Logger): Promise<Database> {
  const running = config.databaseUrl ? undefined : runningEmbeddedPostgres(embeddedDirectory(config));
  if (!running) return openDatabase(config, logger, { poolSize: 4 });
  const pool = createPool({ url: embeddedUrl(config, running.port), logger, max: 4 });
  return { pool, embeddedPort: running.port, close: () => pool.end() };
}
