import { join } from "node:path";
import type { Config } from "../config.js";
import { loadLocalSecrets } from "../local-secrets.js";
import type { Logger } from "../logger.js";
import { startEmbeddedPostgres } from "./embedded.js";
import { createPool, type Pool } from "./pool.js";

export type Database = { pool: Pool; embeddedPort: number | undefined; close: () => Promise<void> };

const embeddedPreferredPort = 54329;

/**
 * The process's database: the server at DATABASE_URL, or else a real PostgreSQL started from
 * DATA_DIR. `close` ends the pool and stops the embedded server when there is one.
 */
export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  if (config.databaseUrl) {
    const pool = createPool({ url: config.databaseUrl, logger });
    return { pool, embeddedPort: undefined, close: () => pool.end() };
  }
  const embedded = await startEmbeddedPostgres({
    directory: join(config.dataDir, "postgres"),
    password: loadLocalSecrets(config.dataDir).embeddedPostgresPassword,
    preferredPort: embeddedPreferredPort,
    logger,
  });
  logger.info({ port: embedded.port }, `embedded PostgreSQL is running on 127.0.0.1:${embedded.port}`);
  const pool = createPool({ url: embedded.url, logger });
  return {
    pool,
    embeddedPort: embedded.port,
    close: async () => {
      await pool.end();
      await embedded.stop();
    },
  };
}
