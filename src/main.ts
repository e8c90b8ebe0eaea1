import { serve } from "@hono/node-server";
import { resolveModel } from "./ai/models.js";
import { describeGoogleSignIn } from "./auth/better-auth.js";
import { ConfigError, loadConfig } from "./config.js";
import { openDatabase } from "./db/database.js";
import { migrate } from "./db/migrate.js";
import { readEnvironment } from "./environment.js";
import { createApp } from "./http/app.js";
import { createLedger, startHoldSweeper } from "./ledger/index.js";
import { createLogger } from "./logger.js";

const shutdownTimeoutMs = 10_000;

function readConfig() {
  try {
    return loadConfig(readEnvironment());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) process.stderr.write(`${problem}\n`);
    process.stderr.write("Fix the settings above (environment or .env; see .env.example) and start again.\n");
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  // A model that cannot be priced or reached stops the start here, with the setting to fix.
  resolveModel(config);
  const logger = createLogger(config.logLevel);
  const database = await openDatabase(config, logger);
  const migration = await migrate(database.pool);
  if (migration.error) {
    logger.fatal({ err: migration.error }, "migrations failed");
    await database.close();
    process.exit(1);
  }
  logger.info(
    { applied: migration.applied },
    `migrations up to date (${migration.applied.length} applied now)`,
  );

  const ledger = createLedger({ pool: database.pool, holdTtlSeconds: config.holdTtlSeconds });
  // Expired holds free their credit within a fraction of their lifetime.
  const sweeper = startHoldSweeper({
    ledger,
    logger,
    intervalMs: Math.min(config.holdTtlSeconds * 250, 30_000),
  });
  const app = createApp({ config, pool: database.pool, logger, ledger });
  const server = serve({ fetch: app.fetch, port: config.port }, () => {
    process.stdout.write(`Coinslot is running at ${config.appUrl}\n`);
    process.stdout.write(`${describeGoogleSignIn(config)}\n`);
  });
  server.on("error", async (error: NodeJS.ErrnoException) => {
    const hint =
      error.code === "EADDRINUSE" ? ` Port ${config.port} is taken: set PORT to another number.` : "";
    logger.fatal({ err: error }, `the HTTP server could not start.${hint}`);
    await database.close();
    process.exit(1);
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    // If something hangs, leave anyway rather than be killed mid-way by the supervisor.
    setTimeout(() => process.exit(1), shutdownTimeoutMs).unref();
    await new Promise<void>((done) => server.close(() => done()));
    await sweeper.stop();
    await database.close();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `Coinslot could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
