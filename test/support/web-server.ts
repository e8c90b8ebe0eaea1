import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { ensureWebBuild } from "../../scripts/web-build.js";
import { type Config, loadConfig } from "../../src/config.js";
import { freePort } from "../../src/db/embedded.js";
import type { Pool } from "../../src/db/pool.js";
import { createApp } from "../../src/http/app.js";
import { createLedger } from "../../src/ledger/index.js";
import type { Ledger } from "../../src/ledger/types.js";
import { createLogger } from "../../src/logger.js";
import { createTestDatabase } from "./database.js";

export type WebServer = {
  url: string;
  config: Config;
  ledger: Ledger;
  pool: Pool;
  close: () => Promise<void>;
};

/**
 * The whole app over real HTTP on a free port, with the built web app, the checkout simulator and
 * the demo model, on a fresh database of its own. The simulator delivers its webhook to `url`, so
 * this must be a listening server, not `app.request`.
 */
export async function startWebServer(environmentOverrides: Record<string, string> = {}): Promise<WebServer> {
  await ensureWebBuild();
  const database = await createTestDatabase();
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const config = loadConfig({
    // development, not test: the demo model then writes word by word, so the answer visibly streams.
    NODE_ENV: "development",
    PORT: String(port),
    APP_URL: url,
    DATA_DIR: mkdtempSync(join(tmpdir(), "coinslot-web-")),
    AUTH_SECRET: "browser-test-auth-secret-long-enough-0123456789",
    STRIPE_WEBHOOK_SECRET: "whsec_browser_test_secret",
    AUTH_RATE_LIMIT_MAX: "100000",
    LOG_LEVEL: "silent",
    ...environmentOverrides,
    DATABASE_URL: database.url,
  });
  const logger = createLogger(config.logLevel);
  const ledger = createLedger({
    pool: database.pool,
    holdTtlSeconds: config.holdTtlSeconds,
    lotDays: config,
  });
  const app = createApp({ config, pool: database.pool, logger, ledger });
  const server = await new Promise<ReturnType<typeof serve>>((done) => {
    const listening = serve({ fetch: app.fetch, port }, () => done(listening));
  });
  const close = async () => {
    await new Promise<void>((done) => {
      server.close(() => done());
      // Keep-alive connections from the browser would otherwise hold close() open.
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
    await database.drop();
  };
  return { url, config, ledger, pool: database.pool, close };
}
