import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BillingContext } from "../src/billing/context.js";
import { fulfilCheckout } from "../src/billing/fulfil.js";
import { checkoutFacts } from "../src/billing/stripe-objects.js";
import { type Config, loadConfig } from "../src/config.js";
import { createApp } from "../src/http/app.js";
import { createLedger } from "../src/ledger/index.js";
import type { Ledger } from "../src/ledger/types.js";
import { createLogger } from "../src/logger.js";
import {
  assertLedgerConsistent,
  balanceOf,
  checkoutSession,
  dispute,
  entriesOf,
  refundedCharge,
  signedDelivery,
  stripeEvent,
  uniqueId,
  webhookSecret,
} from "./support/billing-fixtures.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

// The webhook matrix of issue 5, with real signatures and a real database. Each user starts with
// 50 cents of starter credit, so every expected balance below is 50 + what the case adds.

let database: TestDatabase;
let ledger: Ledger;
let app: ReturnType<typeof createApp>;
let config: Config;
const starterCents = 50;

beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 20 });
  config = loadConfig({
    NODE_ENV: "test",
    DATA_DIR: "/tmp/coinslot-billing-webhook-test",
    AUTH_SECRET: "x".repeat(32),
    STRIPE_WEBHOOK_SECRET: webhookSecret,
  });
  ledger = createLedger({ pool: database.pool, holdTtlSeconds: config.holdTtlSeconds });
  app = createApp({ config, pool: database.pool, logger: createLogger("silent"), ledger });
});
afterAll(() => database.drop());

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

async function payment(checkoutSessionId: string) {
  const result = await database.pool.query(
    `select status, amount_cents, refunded_cents, credited_at, attention from credits.payments
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

describe("POST /api/stripe/webhook: signatures", () => {
  it("credits a valid checkout.session.completed once, as a purchase", async () => {
    const userId = await newUser();
    const session = checkoutSession({ userId, amountCents: 300 });
    const event = stripeEvent("checkout.session.completed", session);
    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, outcome: "credited" } });
    expect(await balanceOf(database.pool, userId)).toBe(starterCents + 300);
    expect((await entriesOf(database.pool, userId)).at(-1)).toEqual({ kind: "purchase", amountCents: 300 });
    expect(await payment(session.id)).toMatchObject({ status: "paid", amount_cents: 300, attention: null });
    expect((await payment(session.id)).credited_at).toBeInstanceOf(Date);
    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, outcome: "duplicate" } });
    expect(await balanceOf(database.pool, userId)).toBe(starterCents + 300);
    await assertLedgerConsistent(database.pool);
  });

  it("refuses a signature made with another secret, a tampered body, a stale timestamp, or none", async () => {
    const userId = await newUser();
    const event = stripeEvent("checkout.session.completed", checkoutSession({ userId, amountCents: 300 }));
    const wrongSecret = await deliver(event, { secret: "whsec_someone_else" });
    const tampered = await deliver(event, {
      body: JSON.stringify(event).replace('"amount_total":300', '"amount_total":1000'),
    });
    const stale = await deliver(event, { timestampSeconds: Math.floor(Date.now() / 1000) - 301 });
    const unsigned = await app.request("/api/stripe/webhook", {
      method: "POST",
      body: JSON.stringify(event),
    });
    for (const refused of [wrongSecret, tampered, stale]) {
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe("INVALID_SIGNATURE");
      expect(refused.body.error.message).toMatch(/STRIPE_WEBHOOK_SECRET/);
    }
    expect(unsigned.status).toBe(400);
    expect((await unsigned.json()).error.code).toBe("MISSING_SIGNATURE");
    expect(await eventRecorded(event.id)).toBe(false);
    expect(await balanceOf(database.pool, userId)).toBe(starterCents);
  });

  it("acknowledges an unknown event type with 200 and records nothing", async () => {
    const event = stripeEvent("customer.created", { id: "cus_1", object: "customer" });
    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, outcome: "ignored" } });
    expect(await eventRecorded(event.id)).toBe(false);
  });

  it("answers 500 when the event cannot be applied, and forgets it so Stripe's retry can apply it", async () => {
    const userId = await newUser();
    // A paid session of 0 cents breaks the payments table's constraint: the transaction rolls back.
    const event = stripeEvent("checkout.session.completed", checkoutSession({ userId, amountCents: 0 }));
    const failed = await deliver(event);
    expect(failed.status).toBe(500);
    expect(failed.body.error.code).toBe("WEBHOOK_NOT_APPLIED");
    expect(await eventRecorded(event.id)).toBe(false);
    expect(await balanceOf(database.pool, userId)).toBe(starterCents);
  });
});

describe("POST /api/stripe/webhook: exactly once", () => {
  it("credits one event delivered 50 times at once exactly once", async () => {
    const userId = await newUser();
    const event = stripeEvent("checkout.session.completed", checkoutSession({ userId, amountCents: 500 }));
    const results = await Promise.all(Array.from({ length: 50 }, () => deliver(event)));
    expect(results.every((result) => result.status === 200)).toBe(true);
    const outcomes = results.map((result) => result.body.outcome).sort();
    expect(outcomes.filter((outcome) => outcome === "credited")).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === "duplicate")).toHaveLength(49);
    expect(await balanceOf(database.pool, userId)).toBe(starterCents + 500);
    await assertLedgerConsistent(database.pool);
  });

  it("credits one session once through two different events arriving together", async () => {
    const userId = await newUser();
    const session = checkoutSession({ userId, amountCents: 200 });
    const results = await Promise.all([
      deliver(stripeEvent("checkout.session.completed", session)),
      deliver(stripeEvent("checkout.session.async_payment_succeeded", session)),
      deliver(stripeEvent("checkout.session.completed", session)),
    ]);
    expect(results.map((result) => result.body.outcome).sort()).toEqual([
      "already_credited",
      "already_credited",
      "credited",
    ]);
    expect(await balanceOf(database.pool, userId)).toBe(starterCents + 200);
    await assertLedgerConsistent(database.pool);
  });

  it("waits for async_payment_succeeded when a completed session is unpaid", async () => {
    const userId = await newUser();
    const unpaid = checkoutSession({ userId, amountCents: 400, paymentStatus: "unpaid" });
    const first = await deliver(stripeEvent("checkout.session.completed", unpaid));
    expect(first.body.outcome).toBe("awaiting_payment");
    expect(await balanceOf(database.pool, userId)).toBe(starterCents);
    expect(await payment(unpaid.id)).toMatchObject({ status: "pending", credited_at: null });

    const paid = { ...unpaid, payment_status: "paid" };
    const second = await deliver(stripeEvent("checkout.session.async_payment_succeeded", paid));
    expect(second.body.outcome).toBe("credited");
    expect(await balanceOf(database.pool, userId)).toBe(starterCents + 400);
  });

  it("records a failed async payment without crediting it", async () => {
    const userId = await newUser();
    const unpaid = checkoutSession({ userId, amountCents: 400, paymentStatus: "unpaid" });
    await deliver(stripeEvent("checkout.session.completed", unpaid));
    const failed = await deliver(stripeEvent("checkout.session.async_payment_failed", unpaid));
    expect(failed).toEqual({ status: 200, body: { received: true, outcome: "failed" } });
    expect(await payment(unpaid.id)).toMatchObject({ status: "failed", credited_at: null });
    expect(await balanceOf(database.pool, userId)).toBe(starterCents);
  });

  it("marks an abandoned session expired, and never un-credits a paid one", async () => {
    const userId = await newUser();
    const abandoned = {
      ...checkoutSession({ userId, amountCents: 300, paymentStatus: "unpaid" }),
      status: "expired",
    };
    expect((await deliver(stripeEvent("checkout.session.expired", abandoned))).body.outcome).toBe("expired");
    expect(await payment(abandoned.id)).toMatchObject({ status: "expired", credited_at: null });
    const paid = checkoutSession({ userId, amountCents: 300 });
    await deliver(stripeEvent("checkout.session.completed", paid));
    expect((await deliver(stripeEvent("checkout.session.expired", paid))).body.outcome).toBe("unchanged");
    expect(await payment(paid.id)).toMatchObject({ status: "paid" });
    expect(await balanceOf(database.pool, userId)).toBe(starterCents + 300);
  });

  it("records a payment in another currency for a person, credits nothing, and does not make Stripe retry", async () => {
    const userId = await newUser();
    const session = checkoutSession({ userId, amountCents: 300, currency: "eur" });
    const result = await deliver(stripeEvent("checkout.session.completed", session));
    expect(result).toEqual({ status: 200, body: { received: true, outcome: "currency_mismatch" } });
    expect(await payment(session.id)).toMatchObject({
      status: "paid",
      credited_at: null,
      attention: "currency_mismatch",
    });
    expect(await balanceOf(database.pool, userId)).toBe(starterCents);
  });

  it("opens the account of a signed-up user who pays before their first signed-in request, bonus once", async () => {
    const userId = uniqueId("user_");
    await database.pool.query(
      `insert into auth_coinslot."user" (id, name, email, "emailVerified") values ($1, 'Early Payer', $2, false)`,
      [userId, `${userId}@example.com`],
    );
    const first = checkoutSession({ userId, amountCents: 300 });
    const second = checkoutSession({ userId, amountCents: 200 });
    expect((await deliver(stripeEvent("checkout.session.completed", first))).body.outcome).toBe("credited");
    expect((await deliver(stripeEvent("checkout.session.completed", second))).body.outcome).toBe("credited");
    // The sign-in path opens accounts the same way; it must find the account and add nothing.
    expect(
      (await ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents: 50 })).error,
    ).toBeNull();
    expect(await entriesOf(database.pool, userId)).toEqual([
      { kind: "signup_bonus", amountCents: 50 },
      { kind: "purchase", amountCents: 300 },
      { kind: "purchase", amountCents: 200 },
    ]);
    await assertLedgerConsistent(database.pool);
  });

  it("records a payment for a user that does not exist and answers 200", async () => {
    const session = checkoutSession({ userId: "user_that_never_signed_up", amountCents: 300 });
    const event = stripeEvent("checkout.session.completed", session);
    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, outcome: "unknown_user" } });
    expect(await payment(session.id)).toMatchObject({
      status: "paid",
      credited_at: null,
      attention: "unknown_user",
    });
    expect(await eventRecorded(event.id)).toBe(true);
    const accounts = await database.pool.query("select 1 from credits.accounts where user_id = $1", [
      "user_that_never_signed_up",
    ]);
    expect(accounts.rowCount).toBe(0);
  });
});

describe("POST /api/stripe/webhook: refunds and disputes", () => {
  it("claws back a refund in two parts, once each, ignoring replays and late older totals", async () => {
    const userId = await newUser();
    const session = checkoutSession({ userId, amountCents: 1000 });
    await deliver(stripeEvent("checkout.session.completed", session));
    const paymentIntentId = session.payment_intent;
    const firstPart = stripeEvent(
      "charge.refunded",
      refundedCharge({ paymentIntentId, amountCents: 1000, refundedCents: 300 }),
    );
    expect((await deliver(firstPart)).body.outcome).toBe("reconciled");
    expect(await balanceOf(database.pool, userId)).toBe(starterCents + 700);
    expect((await deliver(firstPart)).body.outcome).toBe("duplicate");

    const secondPart = stripeEvent(
      "charge.refunded",
      refundedCharge({ paymentIntentId, amountCents: 1000, refundedCents: 1000 }),
    );
    expect((await deliver(secondPart)).body.outcome).toBe("reconciled");
    expect(await balanceOf(database.pool, userId)).toBe(starterCents);
    // The same first refund, re-sent by Stripe as a new event after the second: the total went down, nothing changes.
    const late = stripeEvent(
      "charge.refunded",
      refundedCharge({ paymentIntentId, amountCents: 1000, refundedCents: 300 }),
    );
    expect((await deliver(late)).status).toBe(200);
    expect(await balanceOf(database.pool, userId)).toBe(starterCents);
    expect((await entriesOf(database.pool, userId)).filter((entry) => entry.kind === "refund")).toEqual([
      { kind: "refund", amountCents: -300 },
      { kind: "refund", amountCents: -700 },
    ]);
    expect(await payment(session.id)).toMatchObject({ refunded_cents: 1000 });
    await assertLedgerConsistent(database.pool);
  });

  it("claws back a refund that arrived before the purchase when the purchase arrives", async () => {
    const userId = await newUser();
    const session = checkoutSession({ userId, amountCents: 500 });
    const refund = stripeEvent(
      "charge.refunded",
      refundedCharge({ paymentIntentId: session.payment_intent, amountCents: 500, refundedCents: 200 }),
    );
    expect((await deliver(refund)).body.outcome).toBe("recorded_before_purchase");
    expect(await balanceOf(database.pool, userId)).toBe(starterCents);

    expect((await deliver(stripeEvent("checkout.session.completed", session))).body.outcome).toBe("credited");
    expect(await balanceOf(database.pool, userId)).toBe(starterCents + 300);
    expect(await payment(session.id)).toMatchObject({ refunded_cents: 200 });
    await assertLedgerConsistent(database.pool);
  });

  it("never loses a refund that races the purchase it refunds", async () => {
    // Twenty races of completion against a partial refund and a dispute for the same payment intent:
    // whichever commits first, the end state must be the same.
    const cases = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const userId = await newUser();
        const session = checkoutSession({ userId, amountCents: 600 });
        const paymentIntentId = session.payment_intent;
        const results = await Promise.all([
          deliver(
            stripeEvent(
              "charge.refunded",
              refundedCharge({ paymentIntentId, amountCents: 600, refundedCents: 100 }),
            ),
          ),
          deliver(stripeEvent("checkout.session.completed", session)),
          deliver(
            stripeEvent(
              "charge.dispute.created",
              dispute({ id: uniqueId("dp_"), paymentIntentId, amountCents: 200, status: "needs_response" }),
            ),
          ),
        ]);
        expect(results.map((result) => result.status)).toEqual([200, 200, 200]);
        return userId;
      }),
    );
    for (const userId of cases)
      expect(await balanceOf(database.pool, userId)).toBe(starterCents + 600 - 100 - 200);
    await assertLedgerConsistent(database.pool);
  });

  it("makes a refund wait for a purchase that is being credited, then claws it back", async () => {
    const userId = await newUser();
    const session = checkoutSession({ userId, amountCents: 600 });
    const context: BillingContext = {
      config,
      pool: database.pool,
      logger: createLogger("silent"),
      ledger,
      stripe: undefined,
    };
    // Hold the purchase's transaction open after it read the refund reports (none yet) ...
    const client = await database.pool.connect();
    await client.query("begin");
    expect(await fulfilCheckout(context, client, checkoutFacts(session as never))).toBe("credited");
    // ... while the refund arrives. It must wait for the purchase rather than record itself as early.
    const refund = deliver(
      stripeEvent(
        "charge.refunded",
        refundedCharge({ paymentIntentId: session.payment_intent, amountCents: 600, refundedCents: 100 }),
      ),
    );
    await Promise.race([refund, new Promise((done) => setTimeout(done, 300))]);
    await client.query("commit");
    client.release();
    expect((await refund).body.outcome).toBe("reconciled");
    expect(await balanceOf(database.pool, userId)).toBe(starterCents + 500);
    await assertLedgerConsistent(database.pool);
  });

  it("takes a lost dispute's amount, even below zero, and spending is then refused", async () => {
    const userId = await newUser();
    const session = checkoutSession({ userId, amountCents: 500 });
    await deliver(stripeEvent("checkout.session.completed", session));
    expect(
      (await ledger.spend({ userId, amountCents: 400, idempotencyKey: uniqueId("spend:") })).error,
    ).toBeNull();
    const opened = dispute({
      id: uniqueId("dp_"),
      paymentIntentId: session.payment_intent,
      amountCents: 500,
      status: "needs_response",
    });
    expect((await deliver(stripeEvent("charge.dispute.created", opened))).body.outcome).toBe("reconciled");
    expect(await balanceOf(database.pool, userId)).toBe(starterCents + 500 - 400 - 500);
    expect((await deliver(stripeEvent("charge.dispute.closed", { ...opened, status: "lost" }))).status).toBe(
      200,
    );
    expect(await balanceOf(database.pool, userId)).toBe(-350);
    const spend = await ledger.spend({ userId, amountCents: 1, idempotencyKey: uniqueId("spend:") });
    expect(spend.error?.code).toBe("INSUFFICIENT_CREDITS");
    await assertLedgerConsistent(database.pool);
  });

  it("returns a won dispute's amount once", async () => {
    const userId = await newUser();
    const session = checkoutSession({ userId, amountCents: 500 });
    await deliver(stripeEvent("checkout.session.completed", session));
    const opened = dispute({
      id: uniqueId("dp_"),
      paymentIntentId: session.payment_intent,
      amountCents: 500,
      status: "needs_response",
    });
    await deliver(stripeEvent("charge.dispute.created", opened));
    expect(await balanceOf(database.pool, userId)).toBe(starterCents);
    const won = stripeEvent("charge.dispute.closed", { ...opened, status: "won" });
    expect((await deliver(won)).body.outcome).toBe("reconciled");
    expect(await balanceOf(database.pool, userId)).toBe(starterCents + 500);
    // Stripe re-sends the same dispute under a new event id; it must not pay back twice, nor reopen.
    await deliver(stripeEvent("charge.dispute.closed", { ...opened, status: "won" }));
    await deliver(stripeEvent("charge.dispute.updated", opened));
    expect(await balanceOf(database.pool, userId)).toBe(starterCents + 500);
    expect((await entriesOf(database.pool, userId)).map((entry) => entry.kind)).toEqual([
      "signup_bonus",
      "purchase",
      "dispute",
      "dispute_reversal",
    ]);
    await assertLedgerConsistent(database.pool);
  });
});
