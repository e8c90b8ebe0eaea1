import { type ServerType, serve } from "@hono/node-server";
import { expect } from "vitest";
import type { AutoTopUpView } from "../src/billing/auto-topup-settings.js";
import { type BillingContext, createBillingContext } from "../src/billing/context.js";
import { type Config, loadConfig } from "../src/config.js";
import { freePort } from "../src/db/embedded.js";
import { createApp } from "../src/http/app.js";
import { createLedger } from "../src/ledger/index.js";
import { createLogger } from "../src/logger.js";
import { cookieFrom, testPassword, uniqueEmail } from "./support/app.js";
import { webhookSecret } from "./support/billing-fixtures.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

/**
 * The whole app listening on a free port (the simulator posts its signed events to this server's
 * own webhook route), a billing context for running the auto top-up worker's pass by hand, and
 * the calls a person makes. `STRIPE_SECRET_KEY` + `STRIPE_API_URL` in `environment` switch to
 * stripe-node against a test's own server.
 */
export type AutoTopUpHarness = {
  baseUrl: string;
  config: Config;
  database: TestDatabase;
  context: BillingContext;
  signUp: () => Promise<{ cookie: string; userId: string; email: string }>;
  call: (cookie: string, method: string, path: string, body?: unknown) => Promise<Response>;
  view: (cookie: string) => Promise<AutoTopUpView>;
  close: () => Promise<void>;
};

export async function startAutoTopUpHarness(
  environment: Record<string, string> = {},
): Promise<AutoTopUpHarness> {
  const database = await createTestDatabase({ poolSize: 30 });
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    NODE_ENV: "test",
    PORT: String(port),
    APP_URL: baseUrl,
    DATA_DIR: "/tmp/coinslot-auto-topup-test",
    AUTH_SECRET: "auto-top-up-test-secret-long-enough-0123456789",
    STRIPE_WEBHOOK_SECRET: webhookSecret,
    AUTH_RATE_LIMIT_MAX: "100000",
    NEW_USER_CREDITS_CENTS: "0",
    LOG_LEVEL: "silent",
    ...environment,
    DATABASE_URL: database.url,
  });
  const logger = createLogger(process.env.TOPUP_LOG ?? "silent");
  const ledger = createLedger({ pool: database.pool, holdTtlSeconds: config.holdTtlSeconds });
  const dependencies = { config, pool: database.pool, logger, ledger };
  const context = createBillingContext(dependencies);
  const app = createApp(dependencies);
  const server: ServerType = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" });

  const call = (cookie: string, method: string, path: string, body?: unknown) =>
    fetch(`${baseUrl}${path}`, {
      method,
      redirect: "manual",
      headers: { cookie, origin: baseUrl, ...(body !== undefined && { "content-type": "application/json" }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });

  const signUp = async () => {
    const email = uniqueEmail("topup");
    const response = await fetch(`${baseUrl}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: baseUrl },
      body: JSON.stringify({ email, password: testPassword, name: "Top Up" }),
    });
    expect(response.status).toBe(200);
    const { user } = (await response.json()) as { user: { id: string } };
    const cookie = cookieFrom(response);
    // The first signed-in request opens the credits account.
    expect((await call(cookie, "GET", "/api/me")).status).toBe(200);
    return { cookie, userId: user.id, email };
  };

  const view = async (cookie: string) => {
    const response = await call(cookie, "GET", "/api/auto-topup");
    expect(response.status).toBe(200);
    return ((await response.json()) as { autoTopUp: AutoTopUpView }).autoTopUp;
  };

  return {
    baseUrl,
    config,
    database,
    context,
    signUp,
    call,
    view,
    close: async () => {
      await new Promise((done) => server.close(done));
      await database.drop();
    },
  };
}

export type TopUpRow = {
  id: string;
  status: string;
  amount_cents: string;
  payment_intent_id: string | null;
  failure_code: string | null;
};

export async function topUpsOf(harness: AutoTopUpHarness, userId: string): Promise<TopUpRow[]> {
  const { rows } = await harness.database.pool.query<TopUpRow>(
    "select id::text, status, amount_cents, payment_intent_id, failure_code from credits.auto_topups where user_id = $1 order by id",
    [userId],
  );
  return rows;
}

export async function purchasesOf(harness: AutoTopUpHarness, userId: string) {
  const { rows } = await harness.database.pool.query<{ reference: string; amount_cents: string }>(
    "select reference, amount_cents from credits.entries where user_id = $1 and kind = 'purchase' order by id",
    [userId],
  );
  return rows.map((row) => ({ reference: row.reference, amountCents: Number(row.amount_cents) }));
}

export async function availableOf(harness: AutoTopUpHarness, userId: string): Promise<number> {
  const balance = await harness.context.ledger.getBalance(userId);
  if (balance.error) throw new Error(balance.error.message);
  return balance.data.availableCents;
}

/** The auto top-up emails written for `email`, oldest first. */
export async function autoTopUpMails(harness: AutoTopUpHarness, email: string) {
  const { rows } = await harness.database.pool.query<{
    data: { turnedOff: boolean; url: string; reason: string };
  }>("select data from mail.outbox where kind = 'auto-topup-failed' and to_address = $1 order by id", [
    email,
  ]);
  return rows.map((row) => row.data);
}

/** Time passing, as the database sees it: the pause after a failure is over. */
export async function endFailurePause(harness: AutoTopUpHarness, userId: string): Promise<void> {
  await harness.database.pool.query(
    "update credits.auto_topup_settings set paused_until = now() - interval '1 second' where user_id = $1",
    [userId],
  );
}
