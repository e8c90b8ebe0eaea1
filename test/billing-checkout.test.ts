import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { confirmCheckout, startCheckout } from "../src/billing/checkout.js";
import type { BillingContext } from "../src/billing/context.js";
import { createStripeClient } from "../src/billing/stripe.js";
import { loadConfig } from "../src/config.js";
import { freePort } from "../src/db/embedded.js";
import { createApp } from "../src/http/app.js";
import { createLedger } from "../src/ledger/index.js";
import { createLogger } from "../src/logger.js";
import { createTestApp } from "./support/app.js";
import {
  assertLedgerConsistent,
  balanceOf,
  signedDelivery,
  stripeEvent,
  uniqueId,
  webhookSecret,
} from "./support/billing-fixtures.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type StripeRecorder, startStripeRecorder } from "./support/stripe-recorder.js";

// Real Stripe mode: stripe-node itself, pointed at a local recorder instead of api.stripe.com.

const appUrl = "https://credits.example.test";
const secretKey = "sk_test_billingcheckout";
let database: TestDatabase;
let recorder: StripeRecorder;
let context: BillingContext;
let app: ReturnType<typeof createApp>;

function configFor(stripeApiUrl: string) {
  return loadConfig({
    NODE_ENV: "test",
    APP_URL: appUrl,
    DATA_DIR: "/tmp/coinslot-billing-checkout-test",
    AUTH_SECRET: "x".repeat(32),
    STRIPE_SECRET_KEY: secretKey,
    STRIPE_WEBHOOK_SECRET: webhookSecret,
    STRIPE_API_URL: stripeApiUrl,
  });
}

beforeAll(async () => {
  database = await createTestDatabase();
  recorder = await startStripeRecorder();
  const config = configFor(recorder.url);
  const ledger = createLedger({ pool: database.pool, holdTtlSeconds: config.holdTtlSeconds });
  const logger = createLogger("silent");
  context = { config, pool: database.pool, logger, ledger, stripe: createStripeClient(config) };
  app = createApp({ config, pool: database.pool, logger, ledger });
});
afterAll(async () => {
  await recorder.close();
  await database.drop();
});
beforeEach(() => {
  recorder.requests.length = 0;
});

async function newUser() {
  const id = uniqueId("user_");
  const user = { id, email: `${id}@example.com`, name: "Payer", emailVerified: true, isAdmin: false };
  expect(
    (await context.ledger.ensureAccount({ userId: id, email: user.email, signupBonusCents: 50 })).error,
  ).toBeNull();
  return user;
}

describe("checkout with Stripe", () => {
  it("creates no session until someone asks", () => {
    expect(recorder.requests).toEqual([]);
  });

  it("creates a Checkout Session with the amount, the user, the return URLs and an idempotency key", async () => {
    const user = await newUser();
    const checkout = await startCheckout(context, { user, amountCents: 450, requestKey: "click-1" });
    expect(recorder.requests).toHaveLength(1);
    const [request] = recorder.requests;
    expect(request).toMatchObject({
      method: "POST",
      path: "/v1/checkout/sessions",
      idempotencyKey: `checkout:${user.id}:click-1`,
      authorization: `Bearer ${secretKey}`,
    });
    expect(request?.form).toEqual({
      mode: "payment",
      "line_items[0][quantity]": "1",
      "line_items[0][price_data][currency]": "usd",
      "line_items[0][price_data][unit_amount]": "450",
      "line_items[0][price_data][product_data][name]": "Coinslot credits",
      client_reference_id: user.id,
      customer_email: user.email,
      "metadata[user_id]": user.id,
      "payment_intent_data[metadata][user_id]": user.id,
      "invoice_creation[enabled]": "true",
      success_url: `${appUrl}/?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${appUrl}/?checkout=cancel`,
    });
    expect(checkout.url).toBe(`https://checkout.stripe.test/c/pay/${checkout.checkoutSessionId}`);
    const pending = await database.pool.query(
      "select user_id, amount_cents, status from credits.payments where checkout_session_id = $1",
      [checkout.checkoutSessionId],
    );
    expect(pending.rows).toEqual([{ user_id: user.id, amount_cents: 450, status: "pending" }]);
  });

  it("sends the buyer back to a given returnUrl (POST /v1/checkout) with checkout=success or cancel", async () => {
    const user = await newUser();
    const returnUrl = "https://app.example.com/credits?tab=buy";
    await startCheckout(context, { user, amountCents: 300, requestKey: "app-1", returnUrl });
    expect(recorder.requests[0]?.form).toMatchObject({
      success_url: "https://app.example.com/credits?tab=buy&checkout=success",
      cancel_url: "https://app.example.com/credits?tab=buy&checkout=cancel",
    });
  });

  it("gives the same session for the same click and a new one for a new click", async () => {
    const user = await newUser();
    const first = await startCheckout(context, { user, amountCents: 300, requestKey: "same" });
    const repeated = await startCheckout(context, { user, amountCents: 300, requestKey: "same" });
    const other = await startCheckout(context, { user, amountCents: 300, requestKey: "other" });
    expect(repeated.checkoutSessionId).toBe(first.checkoutSessionId);
    expect(other.checkoutSessionId).not.toBe(first.checkoutSessionId);
    expect(recorder.requests.map((request) => request.idempotencyKey)).toEqual([
      `checkout:${user.id}:same`,
      `checkout:${user.id}:same`,
      `checkout:${user.id}:other`,
    ]);
  });

  it("answers 502 with a retry hint when Stripe does not answer", async () => {
    const closedPort = await freePort();
    const config = configFor(`http://127.0.0.1:${closedPort}`);
    const offline = { ...context, config, stripe: createStripeClient(config) };
    await expect(
      startCheckout(offline, { user: await newUser(), amountCents: 300, requestKey: "down" }),
    ).rejects.toMatchObject({ code: "STRIPE_UNAVAILABLE", status: 502 });
  });
});

describe("the success page", () => {
  it("retrieves the session from Stripe and credits it only once it is paid", async () => {
    const user = await newUser();
    const { checkoutSessionId } = await startCheckout(context, { user, amountCents: 300, requestKey: "k" });
    const before = await confirmCheckout(context, { user, checkoutSessionId });
    expect(before).toMatchObject({ status: "pending", credited: false, amountCents: 300 });
    expect(await balanceOf(database.pool, user.id)).toBe(50);

    recorder.pay(checkoutSessionId);
    const after = await confirmCheckout(context, { user, checkoutSessionId });
    expect(after).toEqual({
      checkoutSessionId,
      amountCents: 300,
      currency: "usd",
      status: "paid",
      credited: true,
    });
    expect(await balanceOf(database.pool, user.id)).toBe(350);
    // Asked again once credited, it answers from the database without calling Stripe.
    expect(await confirmCheckout(context, { user, checkoutSessionId })).toMatchObject({ credited: true });
    const retrievals = recorder.requests.filter((request) => request.method === "GET");
    expect(retrievals.map((request) => request.path)).toEqual([
      `/v1/checkout/sessions/${checkoutSessionId}`,
      `/v1/checkout/sessions/${checkoutSessionId}`,
    ]);
  });

  it("credits one session once when the success page and two different events arrive together", async () => {
    const user = await newUser();
    const { checkoutSessionId } = await startCheckout(context, { user, amountCents: 700, requestKey: "k" });
    const session = recorder.pay(checkoutSessionId);
    const deliver = (type: string) =>
      app.request("/api/stripe/webhook", signedDelivery(stripeEvent(type, session)));
    const [confirmed, completed, succeeded] = await Promise.all([
      confirmCheckout(context, { user, checkoutSessionId }),
      deliver("checkout.session.completed"),
      deliver("checkout.session.async_payment_succeeded"),
    ]);
    expect(confirmed.credited).toBe(true);
    const outcomes = [(await completed.json()).outcome, (await succeeded.json()).outcome];
    expect(outcomes.every((outcome) => outcome === "credited" || outcome === "already_credited")).toBe(true);
    expect(await confirmCheckout(context, { user, checkoutSessionId })).toMatchObject({ credited: true });
    expect(await balanceOf(database.pool, user.id)).toBe(750);
    const purchases = await database.pool.query(
      "select count(*)::int as count from credits.entries where reference = $1 and kind = 'purchase'",
      [checkoutSessionId],
    );
    expect(purchases.rows[0].count).toBe(1);
    await assertLedgerConsistent(database.pool);
  });

  it("does not show or credit another user's session, nor one Stripe does not know", async () => {
    const owner = await newUser();
    const stranger = await newUser();
    const { checkoutSessionId } = await startCheckout(context, {
      user: owner,
      amountCents: 300,
      requestKey: "k",
    });
    recorder.pay(checkoutSessionId);
    await expect(confirmCheckout(context, { user: stranger, checkoutSessionId })).rejects.toMatchObject({
      code: "PAYMENT_NOT_FOUND",
      status: 404,
    });
    await expect(
      confirmCheckout(context, { user: owner, checkoutSessionId: "cs_test_unknown_to_stripe" }),
    ).rejects.toMatchObject({ code: "PAYMENT_NOT_FOUND" });
    expect(await balanceOf(database.pool, owner.id)).toBe(50);
    expect(await balanceOf(database.pool, stranger.id)).toBe(50);
  });
});

describe("the success page and sessions Coinslot did not create", () => {
  function paymentLinkSession(userId: string, amountCents: number) {
    const id = uniqueId("cs_test_link_");
    const session = {
      id,
      object: "checkout.session",
      mode: "payment",
      status: "complete",
      payment_status: "paid",
      amount_total: amountCents,
      currency: "usd",
      client_reference_id: userId,
      metadata: {},
      payment_intent: `pi_for_${id}`,
      livemode: false,
    };
    recorder.sessions.set(id, session);
    return session;
  }

  it("credits nothing for a paid Payment-Link-like session naming the user, and says why", async () => {
    const user = await newUser();
    const session = paymentLinkSession(user.id, 500_000);
    await expect(confirmCheckout(context, { user, checkoutSessionId: session.id })).rejects.toMatchObject({
      code: "PAYMENT_NOT_FOUND",
      status: 404,
    });
    // Not started here: not even worth a Stripe call.
    expect(recorder.requests).toEqual([]);
    // Once the webhook has kept it for attention, the success page says so.
    const delivered = await app.request(
      "/api/stripe/webhook",
      signedDelivery(stripeEvent("checkout.session.completed", session)),
    );
    expect((await delivered.json()).outcome).toBe("not_created_here");
    await expect(confirmCheckout(context, { user, checkoutSessionId: session.id })).rejects.toMatchObject({
      code: "PAYMENT_NEEDS_ATTENTION",
      status: 409,
      message: expect.stringContaining("not started from Coinslot"),
    });
    expect(await balanceOf(database.pool, user.id)).toBe(50);
    await assertLedgerConsistent(database.pool);
  });

  it("credits nothing when Stripe reports another amount than the checkout recorded", async () => {
    const user = await newUser();
    const { checkoutSessionId } = await startCheckout(context, { user, amountCents: 300, requestKey: "k" });
    Object.assign(recorder.pay(checkoutSessionId), { amount_total: 5000 });
    const refused = {
      code: "PAYMENT_NEEDS_ATTENTION",
      status: 409,
      message: expect.stringContaining("amount"),
    };
    await expect(confirmCheckout(context, { user, checkoutSessionId })).rejects.toMatchObject(refused);
    await expect(confirmCheckout(context, { user, checkoutSessionId })).rejects.toMatchObject(refused);
    // Kept for a person after the first look: asking again does not call Stripe.
    expect(recorder.requests.filter((request) => request.method === "GET")).toHaveLength(1);
    const payment = await database.pool.query(
      "select attention, credited_at from credits.payments where checkout_session_id = $1",
      [checkoutSessionId],
    );
    expect(payment.rows).toEqual([{ attention: "amount_mismatch", credited_at: null }]);
    expect(await balanceOf(database.pool, user.id)).toBe(50);
  });
});

describe("rate limits on checkout and confirmation with Stripe", () => {
  it("refuses the third session and the third Stripe confirmation with 429, per user", async () => {
    const test = await createTestApp({
      STRIPE_SECRET_KEY: secretKey,
      STRIPE_API_URL: recorder.url,
      CHECKOUT_RATE_LIMIT_MAX: "2",
      CHECKOUT_RATE_LIMIT_WINDOW_SECONDS: "60",
    });
    try {
      const post = (cookie: string, path: string, body: unknown) =>
        test.app.request(path, {
          method: "POST",
          headers: { "content-type": "application/json", origin: new URL(test.config.appUrl).origin, cookie },
          body: JSON.stringify(body),
        });
      const person = await test.signUp();
      const other = await test.signUp();
      const opened = await post(person.cookie, "/api/checkout", { amountCents: 300 });
      const sessionId = (await opened.json()).url.split("/").at(-1);
      expect(recorder.requests.filter((request) => request.method === "POST")).toHaveLength(1);

      const confirm = () => post(person.cookie, "/api/checkout/confirm", { sessionId });
      expect((await confirm()).status).toBe(200);
      expect((await confirm()).status).toBe(200);
      const limited = await confirm();
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const { error } = await limited.json();
      expect(error).toEqual({
        code: "RATE_LIMITED",
        message: `Too many checkout requests. Try again in ${retryAfter} seconds.`,
      });
      expect(recorder.requests.filter((request) => request.method === "GET")).toHaveLength(2);

      expect((await post(person.cookie, "/api/checkout", { amountCents: 300 })).status).toBe(200);
      const third = await post(person.cookie, "/api/checkout", { amountCents: 300 });
      expect(third.status).toBe(429);
      expect(third.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(recorder.requests.filter((request) => request.method === "POST")).toHaveLength(2);
      const rows = await test.database.pool.query("select 1 from credits.payments where user_id = $1", [
        person.user.id,
      ]);
      expect(rows.rowCount).toBe(2);
      // Someone else is not affected.
      expect((await post(other.cookie, "/api/checkout", { amountCents: 300 })).status).toBe(200);

      // Once credited, polling the success page costs no Stripe call and is never refused.
      const paid = recorder.pay(sessionId);
      await test.app.request(
        "/api/stripe/webhook",
        signedDelivery(stripeEvent("checkout.session.completed", paid), {
          secret: test.config.stripeWebhookSecret,
        }),
      );
      for (let poll = 0; poll < 5; poll += 1) {
        const answer = await confirm();
        expect(answer.status).toBe(200);
        expect((await answer.json()).payment.credited).toBe(true);
      }

      // A new window opens once the old one has passed.
      await test.database.pool.query(
        "update coinslot_private.rate_limits set window_started_at = now() - interval '61 seconds'",
      );
      expect((await post(person.cookie, "/api/checkout", { amountCents: 300 })).status).toBe(200);
    } finally {
      await test.close();
    }
  });
});
