import { type ServerType, serve } from "@hono/node-server";
import { resolveModel } from "./ai/models.js";
import { startAlertJobs } from "./alerts/jobs.js";
import { describeGoogleSignIn } from "./auth/better-auth.js";
import { startAutoTopUpWorker } from "./billing/auto-topup-worker.js";
import { createBillingContext } from "./billing/context.js";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { openDatabase } from "./db/database.js";
import { migrate } from "./db/migrate.js";
import { readEnvironment } from "./environment.js";
import { createApp } from "./http/app.js";
import { createLedger, startHoldSweeper } from "./ledger/index.js";
import { createLogger, type Logger } from "./logger.js";
import { describeMailDestination } from "./mail/destination.js";
import { startMailSender } from "./mail/sender.js";
import { startWebhookDeliverer } from "./webhooks/deliverer.js";

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

type Cleanup = () => Promise<void>;

// Resources are registered as they come up and released in reverse order. A signal that arrives
// during start-up waits for start-up to finish, so nothing it began (the embedded PostgreSQL above
// all) is left running as an orphan.
const cleanups: Cleanup[] = [];
let starting: Promise<void> = Promise.resolve();
let stopping = false;

async function stop(code: number, logger?: Logger): Promise<void> {
  if (stopping) return;
  stopping = true;
  // If something hangs, leave anyway rather than be killed mid-way by the supervisor.
  setTimeout(() => process.exit(1), shutdownTimeoutMs).unref();
  await starting.catch(() => undefined);
  logger?.info("shutting down");
  for (const cleanup of cleanups.reverse()) {
    await cleanup().catch((error: unknown) => logger?.error({ err: error }, "shutdown step failed"));
  }
  logger?.info("stopped");
  process.exit(code);
}

/** Stops accepting connections, lets in-flight requests (streaming chats included) finish. */
function closeServer(server: ServerType): Promise<void> {
  return new Promise((done) => {
    server.close(() => done());
    // Idle keep-alive connections would hold close() open until the client drops them.
    const http = server as Partial<import("node:http").Server>;
    const timer = setInterval(() => http.closeIdleConnections?.(), 100);
    server.once("close", () => clearInterval(timer));
  });
}

async function start(config: Config, logger: Logger): Promise<void> {
  const database = await openDatabase(config, logger);
  cleanups.push(() => database.close());
  const migration = await migrate(database.pool);
  if (migration.error) {
    logger.fatal({ err: migration.error }, "migrations failed");
    throw migration.error;
  }
  logger.info(
    { applied: migration.applied },
    `migrations up to date (${migration.applied.length} applied now)`,
  );

  const ledger = createLedger({
    pool: database.pool,
    holdTtlSeconds: config.holdTtlSeconds,
    lotDays: config,
  });
  // Expired holds free their credit within a fraction of their lifetime.
  const sweeper = startHoldSweeper({
    ledger,
    logger,
    intervalMs: Math.min(config.holdTtlSeconds * 250, 30_000),
  });
  cleanups.push(() => sweeper.stop());
  // Writes the endpoints and threshold the outbox triggers read, then delivers until shutdown.
  const deliverer = await startWebhookDeliverer({
    pool: database.pool,
    logger,
    endpointUrls: config.webhookEndpoints,
    authSecret: config.authSecret,
    lowBalanceAlertCents: config.lowBalanceAlertCents,
  });
  cleanups.push(() => deliverer.stop());
  // Sends the mail outbox (SMTP, or marks it kept in the local mailbox) until shutdown; logs where it goes.
  const mailSender = startMailSender({ pool: database.pool, logger, config });
  cleanups.push(() => mailSender.stop());
  // Charges the auto top-ups that spends started (saved card, off-session) until shutdown.
  const autoTopUps = startAutoTopUpWorker(
    createBillingContext({ config, pool: database.pool, logger, ledger }),
  );
  cleanups.push(() => autoTopUps.stop());
  // Mails low-balance alerts and, a week ahead, credit about to expire; safe on several servers.
  const alertJobs = startAlertJobs({ pool: database.pool, logger, currency: config.currency });
  cleanups.push(() => alertJobs.stop());
  const app = createApp({ config, pool: database.pool, logger, ledger });
  await new Promise<void>((listening, failed) => {
    const server = serve({ fetch: app.fetch, port: config.port }, () => listening());
    server.once("error", (error: NodeJS.ErrnoException) => {
      const hint =
        error.code === "EADDRINUSE" ? ` Port ${config.port} is taken: set PORT to another number.` : "";
      failed(new Error(`The HTTP server could not start: ${error.message}.${hint}`));
    });
    cleanups.push(() => closeServer(server));
  });
  process.stdout.write(`Coinslot is running at ${config.appUrl}\n`);
  process.stdout.write(`${describeGoogleSignIn(config)}\n`);
  process.stdout.write(`${describeMailDestination(config)}\n`);
}

async function main(): Promise<void> {
  const config = readConfig();
  // A model that cannot be priced or reached stops the start here, with the setting to fix.
  resolveModel(config);
  const logger = createLogger(config.logLevel);
  process.on("SIGINT", () => void stop(0, logger));
  process.on("SIGTERM", () => void stop(0, logger));
  starting = start(config, logger);
  try {
    await starting;
  } catch (error) {
    process.stderr.write(
      `Coinslot could not start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    await stop(1, logger);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `Coinslot could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
