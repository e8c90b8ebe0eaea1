import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findOrCreateUser } from "../src/auth/users.js";
import { confirmCheckout, startCheckout } from "../src/billing/checkout.js";
import type { BillingContext } from "../src/billing/context.js";
import { createStripeClient } from "../src/billing/stripe.js";
import { loadConfig } from "../src/config.js";
import { transaction } from "../src/db/pool.js";
import { createApp } from "../src/http/app.js";
import { createLedger, unwrap } from "../src/ledger/index.js";
import { createLogger } from "../src/logger.js";
import { startMailSender } from "../src/mail/sender.js";
import {
  assertLedgerConsistent,
  checkoutSession,
  recordCheckout,
  signedDelivery,
  stripeEvent,
  webhookSecret,
} from "./support/billing-fixtures.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type SmtpSink, startSmtpSink } from "./support/smtp.js";
import { type StripeRecorder, startStripeRecorder } from "./support/stripe-recorder.js";
import { waitFor } from "./support/wait.js";

// Receipts: written by a trigger in the purchase's own transaction, sent by the mail sender to a
// real SMTP server. Purchases go through the real paths: stripe-node against a local recorder of
// Stripe's API, Stripe-signed webhook deliveries, and the success page's confirmation.

const appUrl = "https://credits.example.test";
let database: TestDatabase;
let recorder: StripeRecorder;
let sink: SmtpSink;
let context: BillingContext;
let app: ReturnType<typeof createApp>;
let stopSender: () => Promise<void>;

beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 20 });
  recorder = await startStripeRecorder();
  sink = await startSmtpSink();
  const config = loadConfig({
    NODE_ENV: "test",
    APP_URL: appUrl,
    DATA_DIR: "/tmp/coinslot-mail-receipts-test",
    AUTH_SECRET: "x".repeat(32),
    STRIPE_SECRET_KEY: "sk_test_mailreceipts",
    STRIPE_WEBHOOK_SECRET: webhookSecret,
    STRIPE_API_URL: recorder.url,
    SMTP_URL: sink.url,
    LOG_LEVEL: "silent",
  });
  const logger = createLogger("silent");
  const ledger = createLedger({ pool: database.pool, holdTtlSeconds: config.holdTtlSeconds });
  context = { config, pool: database.pool, logger, ledger, stripe: createStripeClient(config) };
  app = createApp({ config, pool: database.pool, logger, ledger });
  const sender = startMailSender({ pool: database.pool, logger, config, intervalMs: 20, timeoutMs: 3_000 });
  stopSender = sender.stop;
});
afterAll(async () => {
  await stopSender?.();
  await sink?.close();
  await recorder?.close();
  await database?.drop();
});

/** A person as auth keeps them (name, email, verified or not) with a credits account of 50 cents. */
async function newPerson(input: { name: string; email?: string; verified?: boolean }) {
  const email = input.email ?? `buyer-${randomBytes(5).toString("hex")}@example.com`;
  const { id } = await findOrCreateUser(database.pool, { email, name: input.name });
  await setVerified(id, input.verified ?? true);
  unwrap(await context.ledger.ensureAccount({ userId: id, email, signupBonusCents: 50 }));
  return { id, email, name: input.name, emailVerified: input.verified ?? true, isAdmin: false };
}

async function setVerified(userId: string, verified: boolean) {
  await database.pool.query(`update auth_coinslot."user" set "emailVerified" = $2 where id = $1`, [
    userId,
    verified,
  ]);
}

const deliver = (event: unknown) => app.request("/api/stripe/webhook", signedDelivery(event));

/** A checkout recorded as Coinslot records its sessions, paid, and its webhook delivered. */
async function buyByWebhook(userId: string, amountCents: number) {
  const session = await recordCheckout(database.pool, checkoutSession({ userId, amountCents }));
  const answer = await deliver(stripeEvent("checkout.session.completed", session));
  expect(await answer.json()).toMatchObject({ outcome: "credited" });
  return session.id;
}

async function receiptsOf(userId: string) {
  const { rows } = await database.pool.query(
    `select to_address, data, dedupe_key, status from mail.outbox where user_id = $1 and kind = 'receipt' order by id`,
    [userId],
  );
  return rows;
}

describe("a receipt for every credited purchase", () => {
  it("is written and sent once when duplicate webhooks and the success page credit one purchase together", async () => {
    const person = await newPerson({ name: "Ada Buyer" });
    const { checkoutSessionId } = await startCheckout(context, {
      user: person,
      amountCents: 700,
      requestKey: "receipt",
    });
    const session = recorder.pay(checkoutSessionId);
    const completed = stripeEvent("checkout.session.completed", session);
    const [confirmed, ...answers] = await Promise.all([
      confirmCheckout(context, { user: person, checkoutSessionId }),
      deliver(completed),
      deliver(completed),
      deliver(completed),
      deliver(stripeEvent("checkout.session.async_payment_succeeded", session)),
    ]);
    expect(confirmed.credited).toBe(true);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    await assertLedgerConsistent(database.pool);

    const receipts = await receiptsOf(person.id);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]).toMatchObject({
      to_address: person.email,
      data: {
        name: "Ada Buyer",
        amountCents: 700,
        currency: "usd",
        reference: checkoutSessionId,
        balanceCents: 750,
        paidAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      },
    });
    expect(receipts[0].dedupe_key).toMatch(/^receipt:\d+$/);

    await waitFor(async () => (await receiptsOf(person.id))[0]?.status === "sent", "the receipt sent");
    const mail = sink.to(person.email);
    expect(mail).toHaveLength(1);
    expect(mail[0]?.parsed.subject).toBe("Your Coinslot receipt: $7.00 of credits");
    expect(mail[0]?.text).toContain("Hello Ada Buyer,");
    expect(mail[0]?.text).toContain("Credits bought:    $7.00");
    expect(mail[0]?.text).toContain("Currency:          USD");
    expect(mail[0]?.text).toContain(`Payment reference: ${checkoutSessionId}`);
    expect(mail[0]?.text).toContain("Balance now:       $7.50");
    expect(mail[0]?.text).toContain(`${appUrl}/history`);
  });

  it("gives an app's customer one only once their address is verified", async () => {
    const customer = await newPerson({ name: "App Customer", verified: false });
    await database.pool.query("insert into metering.customers (id, user_id) values ($1, $2)", [
      `app_user_${customer.id}`,
      customer.id,
    ]);
    await buyByWebhook(customer.id, 300);
    expect(await receiptsOf(customer.id)).toEqual([]);

    await setVerified(customer.id, true);
    const second = await buyByWebhook(customer.id, 500);
    const receipts = await receiptsOf(customer.id);
    expect(receipts.map((receipt) => receipt.data)).toEqual([
      expect.objectContaining({ amountCents: 500, reference: second, balanceCents: 850 }),
    ]);
    await waitFor(() => sink.to(customer.email).length === 1, "the verified customer's receipt");
  });

  it("mails nobody for the purchase of a deleted account, whose email is an .invalid address", async () => {
    const gone = await newPerson({
      name: "Gone",
      email: `deleted-${randomBytes(8).toString("hex")}@deleted.invalid`,
    });
    await buyByWebhook(gone.id, 300);
    expect(await receiptsOf(gone.id)).toEqual([]);
  });

  it("is not written when the purchase rolls back, though it was in the purchase's transaction", async () => {
    const person = await newPerson({ name: "Rolled Back" });
    const session = await recordCheckout(
      database.pool,
      checkoutSession({ userId: person.id, amountCents: 300 }),
    );
    const rolledBack = transaction(database.pool, async (client) => {
      unwrap(
        await context.ledger.grant({
          userId: person.id,
          amountCents: 300,
          kind: "purchase",
          idempotencyKey: `purchase:${session.id}`,
          reference: session.id,
          client,
        }),
      );
      const inside = await client.query("select kind from mail.outbox where user_id = $1", [person.id]);
      expect(inside.rows).toEqual([{ kind: "receipt" }]);
      throw new Error("roll the purchase back");
    });
    await expect(rolledBack).rejects.toThrow("roll the purchase back");
    expect(await receiptsOf(person.id)).toEqual([]);
  });
});
