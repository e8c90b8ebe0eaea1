import { expect } from "vitest";
import type { BillingContext } from "../../src/billing/context.js";
import { insertPendingPayment } from "../../src/billing/payments.js";
import { loadConfig } from "../../src/config.js";
import { createApp } from "../../src/http/app.js";
import { createLedger } from "../../src/ledger/index.js";
import { createLogger } from "../../src/logger.js";
import { type checkoutSession, signedDelivery, uniqueId, webhookSecret } from "./billing-fixtures.js";
import { createTestDatabase } from "./database.js";

/** Every harness user starts with this much credit, so expected balances read `starterCents + ...`. */
export const starterCents = 50;

/**
 * The whole app on a database of its own, for driving the webhook with signed events: real
 * signatures, real handlers, real PostgreSQL. Users are opened straight through the ledger.
 */
export async function startWebhookHarness() {
  const database = await createTestDatabase({ poolSize: 20 });
  const config = loadConfig({
    NODE_ENV: "test",
    DATA_DIR: "/tmp/coinslot-billing-webhook-test",
    AUTH_SECRET: "x".repeat(32),
    STRIPE_WEBHOOK_SECRET: webhookSecret,
  });
  const logger = createLogger("silent");
  const ledger = createLedger({
    pool: database.pool,
    holdTtlSeconds: config.holdTtlSeconds,
    lotDays: config,
  });
  const app = createApp({ config, pool: database.pool, logger, ledger });
  const context: BillingContext = { config, pool: database.pool, logger, ledger, stripe: undefined };

  async function newUser(): Promise<string> {
    const userId = uniqueId("user_");
    const opened = await ledger.ensureAccount({
      userId,
      email: `${userId}@example.com`,
      signupBonusCents: starterCents,
    });
    expect(opened.error).toBeNull();
    return userId;
  }

  async function deliver(event: unknown, options?: Parameters<typeof signedDelivery>[1]) {
    const response = await app.request("/api/stripe/webhook", signedDelivery(event, options));
    return { status: response.status, body: await response.json() };
  }

  /**
   * Records `session` the way Coinslot's checkout does when it creates one (user, amount and
   * currency from the session unless `recordedAs` says otherwise) and returns it, so its events credit.
   */
  async function recorded<Session extends ReturnType<typeof checkoutSession>>(
    session: Session,
    recordedAs: { userId?: string; amountCents?: number; currency?: string } = {},
  ): Promise<Session> {
    await insertPendingPayment(database.pool, {
      checkoutSessionId: session.id,
      userId: recordedAs.userId ?? (session.client_reference_id as string),
      amountCents: recordedAs.amountCents ?? session.amount_total,
      currency: recordedAs.currency ?? session.currency,
    });
    return session;
  }

  async function payment(checkoutSessionId: string) {
    const result = await database.pool.query(
      `select status, amount_cents, refunded_cents, credited_at, attention, origin from credits.payments
        where checkout_session_id = $1`,
      [checkoutSessionId],
    );
    return result.rows[0];
  }

  async function eventRecorded(eventId: string): Promise<boolean> {
    const result = await database.pool.query("select 1 from credits.stripe_events where event_id = $1", [
      eventId,
    ]);
    return result.rowCount === 1;
  }

  return {
    database,
    config,
    ledger,
    app,
    context,
    newUser,
    recorded,
    deliver,
    payment,
    eventRecorded,
    close: () => database.drop(),
  };
}

export type WebhookHarness = Awaited<ReturnType<typeof startWebhookHarness>>;
