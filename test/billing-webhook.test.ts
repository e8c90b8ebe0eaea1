import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertLedgerConsistent,
  balanceOf,
  checkoutSession,
  entriesOf,
  stripeEvent,
  uniqueId,
} from "./support/billing-fixtures.js";
import { starterCents, startWebhookHarness, type WebhookHarness } from "./support/webhook-harness.js";

// The webhook matrix of issue 5: signatures and exactly-once crediting, with real signatures and a
// real database. Refunds and disputes are in billing-clawbacks.test.ts.

let harness: WebhookHarness;
beforeAll(async () => {
  harness = await startWebhookHarness();
});
afterAll(() => harness.close());

describe("POST /api/stripe/webhook: signatures", () => {
  it("credits a valid checkout.session.completed once, as a purchase", async () => {
    const userId = await harness.newUser();
    const session = await harness.recorded(checkoutSession({ userId, amountCents: 300 }));
    const event = stripeEvent("checkout.session.completed", session);
    expect(await harness.deliver(event)).toEqual({
      status: 200,
      body: { received: true, outcome: "credited" },
    });
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents + 300);
    expect((await entriesOf(harness.database.pool, userId)).at(-1)).toEqual({
      kind: "purchase",
      amountCents: 300,
    });
    expect(await harness.payment(session.id)).toMatchObject({
      status: "paid",
      amount_cents: 300,
      attention: null,
    });
    expect((await harness.payment(session.id)).credited_at).toBeInstanceOf(Date);
    expect(await harness.deliver(event)).toEqual({
      status: 200,
      body: { received: true, outcome: "duplicate" },
    });
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents + 300);
    await assertLedgerConsistent(harness.database.pool);
  });

  it("refuses a signature made with another secret, a tampered body, a stale timestamp, or none", async () => {
    const userId = await harness.newUser();
    const event = stripeEvent("checkout.session.completed", checkoutSession({ userId, amountCents: 300 }));
    const wrongSecret = await harness.deliver(event, { secret: "whsec_someone_else" });
    const tampered = await harness.deliver(event, {
      body: JSON.stringify(event).replace('"amount_total":300', '"amount_total":1000'),
    });
    const stale = await harness.deliver(event, { timestampSeconds: Math.floor(Date.now() / 1000) - 301 });
    const unsigned = await harness.app.request("/api/stripe/webhook", {
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
    expect(await harness.eventRecorded(event.id)).toBe(false);
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents);
  });

  it("acknowledges an unknown event type with 200 and records nothing", async () => {
    const event = stripeEvent("customer.created", { id: "cus_1", object: "customer" });
    expect(await harness.deliver(event)).toEqual({
      status: 200,
      body: { received: true, outcome: "ignored" },
    });
    expect(await harness.eventRecorded(event.id)).toBe(false);
  });

  it("answers 500 when the event cannot be applied, and forgets it so Stripe's retry can apply it", async () => {
    const userId = await harness.newUser();
    // A paid session of 0 cents breaks the payments table's constraint: the transaction rolls back.
    const event = stripeEvent("checkout.session.completed", checkoutSession({ userId, amountCents: 0 }));
    const failed = await harness.deliver(event);
    expect(failed.status).toBe(500);
    expect(failed.body.error.code).toBe("WEBHOOK_NOT_APPLIED");
    expect(await harness.eventRecorded(event.id)).toBe(false);
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents);
  });
});

describe("POST /api/stripe/webhook: exactly once", () => {
  it("credits one event delivered 50 times at once exactly once", async () => {
    const userId = await harness.newUser();
    const session = await harness.recorded(checkoutSession({ userId, amountCents: 500 }));
    const event = stripeEvent("checkout.session.completed", session);
    const results = await Promise.all(Array.from({ length: 50 }, () => harness.deliver(event)));
    expect(results.every((result) => result.status === 200)).toBe(true);
    const outcomes = results.map((result) => result.body.outcome).sort();
    expect(outcomes.filter((outcome) => outcome === "credited")).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === "duplicate")).toHaveLength(49);
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents + 500);
    await assertLedgerConsistent(harness.database.pool);
  });

  it("credits one session once through two different events arriving together", async () => {
    const userId = await harness.newUser();
    const session = await harness.recorded(checkoutSession({ userId, amountCents: 200 }));
    const results = await Promise.all([
      harness.deliver(stripeEvent("checkout.session.completed", session)),
      harness.deliver(stripeEvent("checkout.session.async_payment_succeeded", session)),
      harness.deliver(stripeEvent("checkout.session.completed", session)),
    ]);
    expect(results.map((result) => result.body.outcome).sort()).toEqual([
      "already_credited",
      "already_credited",
      "credited",
    ]);
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents + 200);
    await assertLedgerConsistent(harness.database.pool);
  });

  it("waits for async_payment_succeeded when a completed session is unpaid", async () => {
    const userId = await harness.newUser();
    const unpaid = await harness.recorded(
      checkoutSession({ userId, amountCents: 400, paymentStatus: "unpaid" }),
    );
    const first = await harness.deliver(stripeEvent("checkout.session.completed", unpaid));
    expect(first.body.outcome).toBe("awaiting_payment");
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents);
    expect(await harness.payment(unpaid.id)).toMatchObject({ status: "pending", credited_at: null });

    const paid = { ...unpaid, payment_status: "paid" };
    const second = await harness.deliver(stripeEvent("checkout.session.async_payment_succeeded", paid));
    expect(second.body.outcome).toBe("credited");
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents + 400);
  });

  it("records a failed async payment without crediting it", async () => {
    const userId = await harness.newUser();
    const unpaid = await harness.recorded(
      checkoutSession({ userId, amountCents: 400, paymentStatus: "unpaid" }),
    );
    await harness.deliver(stripeEvent("checkout.session.completed", unpaid));
    const failed = await harness.deliver(stripeEvent("checkout.session.async_payment_failed", unpaid));
    expect(failed).toEqual({ status: 200, body: { received: true, outcome: "failed" } });
    expect(await harness.payment(unpaid.id)).toMatchObject({ status: "failed", credited_at: null });
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents);
  });

  it("marks an abandoned session expired, and never un-credits a paid one", async () => {
    const userId = await harness.newUser();
    const abandoned = {
      ...(await harness.recorded(checkoutSession({ userId, amountCents: 300, paymentStatus: "unpaid" }))),
      status: "expired",
    };
    expect((await harness.deliver(stripeEvent("checkout.session.expired", abandoned))).body.outcome).toBe(
      "expired",
    );
    expect(await harness.payment(abandoned.id)).toMatchObject({ status: "expired", credited_at: null });
    const paid = await harness.recorded(checkoutSession({ userId, amountCents: 300 }));
    await harness.deliver(stripeEvent("checkout.session.completed", paid));
    expect((await harness.deliver(stripeEvent("checkout.session.expired", paid))).body.outcome).toBe(
      "unchanged",
    );
    expect(await harness.payment(paid.id)).toMatchObject({ status: "paid" });
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents + 300);
  });

  it("records a payment in another currency for a person, credits nothing, and does not make Stripe retry", async () => {
    const userId = await harness.newUser();
    const session = await harness.recorded(checkoutSession({ userId, amountCents: 300, currency: "eur" }), {
      currency: "usd",
    });
    const result = await harness.deliver(stripeEvent("checkout.session.completed", session));
    expect(result).toEqual({ status: 200, body: { received: true, outcome: "currency_mismatch" } });
    expect(await harness.payment(session.id)).toMatchObject({
      status: "paid",
      credited_at: null,
      attention: "currency_mismatch",
    });
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents);
  });

  it("opens the account of a signed-up user who pays before their first signed-in request, bonus once", async () => {
    const userId = uniqueId("user_");
    await harness.database.pool.query(
      `insert into auth_coinslot."user" (id, name, email, "emailVerified") values ($1, 'Early Payer', $2, false)`,
      [userId, `${userId}@example.com`],
    );
    const first = await harness.recorded(checkoutSession({ userId, amountCents: 300 }));
    const second = await harness.recorded(checkoutSession({ userId, amountCents: 200 }));
    expect((await harness.deliver(stripeEvent("checkout.session.completed", first))).body.outcome).toBe(
      "credited",
    );
    expect((await harness.deliver(stripeEvent("checkout.session.completed", second))).body.outcome).toBe(
      "credited",
    );
    // The sign-in path opens accounts the same way; it must find the account and add nothing.
    expect(
      (await harness.ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents: 50 }))
        .error,
    ).toBeNull();
    expect(await entriesOf(harness.database.pool, userId)).toEqual([
      { kind: "signup_bonus", amountCents: 50 },
      { kind: "purchase", amountCents: 300 },
      { kind: "purchase", amountCents: 200 },
    ]);
    await assertLedgerConsistent(harness.database.pool);
  });

  it("credits nobody when the session names another user than the checkout Coinslot started", async () => {
    const owner = await harness.newUser();
    const other = await harness.newUser();
    const session = await harness.recorded(checkoutSession({ userId: owner, amountCents: 300 }), {
      userId: other,
    });
    const result = await harness.deliver(stripeEvent("checkout.session.completed", session));
    expect(result).toEqual({ status: 200, body: { received: true, outcome: "user_mismatch" } });
    expect(await harness.payment(session.id)).toMatchObject({
      credited_at: null,
      attention: "user_mismatch",
    });
    expect(await balanceOf(harness.database.pool, owner)).toBe(starterCents);
    expect(await balanceOf(harness.database.pool, other)).toBe(starterCents);
  });

  it("records a payment for a user that does not exist and answers 200", async () => {
    // Coinslot started it for a person whose sign-up record is gone by the time they pay.
    const session = await harness.recorded(
      checkoutSession({ userId: "user_that_never_signed_up", amountCents: 300 }),
    );
    const event = stripeEvent("checkout.session.completed", session);
    expect(await harness.deliver(event)).toEqual({
      status: 200,
      body: { received: true, outcome: "unknown_user" },
    });
    expect(await harness.payment(session.id)).toMatchObject({
      status: "paid",
      credited_at: null,
      attention: "unknown_user",
    });
    expect(await harness.eventRecorded(event.id)).toBe(true);
    const accounts = await harness.database.pool.query("select 1 from credits.accounts where user_id = $1", [
      "user_that_never_signed_up",
    ]);
    expect(accounts.rowCount).toBe(0);
  });
});

describe("POST /api/stripe/webhook: only sessions Coinslot created", () => {
  it("keeps a paid Payment-Link-like session naming a user for attention, credits nothing, answers 200", async () => {
    const userId = await harness.newUser();
    // Sold through the same Stripe account, far above TOPUP_MAX_CENTS, never created by Coinslot.
    const session = checkoutSession({ userId, amountCents: 500_000 });
    const completed = stripeEvent("checkout.session.completed", session);
    expect(await harness.deliver(completed)).toEqual({
      status: 200,
      body: { received: true, outcome: "not_created_here" },
    });
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents);
    expect(await entriesOf(harness.database.pool, userId)).toEqual([
      { kind: "signup_bonus", amountCents: 50 },
    ]);
    expect(await harness.payment(session.id)).toMatchObject({
      status: "paid",
      amount_cents: 500_000,
      credited_at: null,
      attention: "not_created_here",
      origin: "stripe",
    });
    expect(await harness.eventRecorded(completed.id)).toBe(true);

    // Another event for it, even after a person cleared the attention, credits nothing either.
    await harness.database.pool.query(
      "update credits.payments set attention = null where checkout_session_id = $1",
      [session.id],
    );
    const succeeded = await harness.deliver(stripeEvent("checkout.session.async_payment_succeeded", session));
    expect(succeeded.body.outcome).toBe("not_created_here");
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents);
    // The table itself refuses to mark such a payment credited.
    await expect(
      harness.database.pool.query(
        "update credits.payments set credited_at = now() where checkout_session_id = $1",
        [session.id],
      ),
    ).rejects.toThrow(/payments_only_own_sessions_credited/);
    await assertLedgerConsistent(harness.database.pool);
  });

  it("records nothing for an unpaid or expired session it did not create", async () => {
    const userId = await harness.newUser();
    const unpaid = checkoutSession({ userId, amountCents: 300, paymentStatus: "unpaid" });
    expect((await harness.deliver(stripeEvent("checkout.session.completed", unpaid))).body.outcome).toBe(
      "not_created_here",
    );
    const expired = {
      ...checkoutSession({ userId, amountCents: 300, paymentStatus: "unpaid" }),
      status: "expired",
    };
    expect((await harness.deliver(stripeEvent("checkout.session.expired", expired))).body.outcome).toBe(
      "not_created_here",
    );
    expect(await harness.payment(unpaid.id)).toBeUndefined();
    expect(await harness.payment(expired.id)).toBeUndefined();
  });

  it("credits nothing when the amount paid differs from the amount recorded, in either direction", async () => {
    const userId = await harness.newUser();
    const more = await harness.recorded(checkoutSession({ userId, amountCents: 5000 }), { amountCents: 300 });
    const less = await harness.recorded(checkoutSession({ userId, amountCents: 100 }), { amountCents: 1000 });
    for (const session of [more, less]) {
      expect(await harness.deliver(stripeEvent("checkout.session.completed", session))).toEqual({
        status: 200,
        body: { received: true, outcome: "amount_mismatch" },
      });
      expect(await harness.payment(session.id)).toMatchObject({
        status: "paid",
        credited_at: null,
        attention: "amount_mismatch",
      });
    }
    // Kept for a person: a later event with the recorded amount does not credit it behind them.
    const corrected = stripeEvent("checkout.session.async_payment_succeeded", { ...more, amount_total: 300 });
    expect((await harness.deliver(corrected)).body.outcome).toBe("amount_mismatch");
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents);
    await assertLedgerConsistent(harness.database.pool);
  });

  it("credits nobody when another user's recorded session names a different client_reference_id", async () => {
    const victim = await harness.newUser();
    const attacker = await harness.newUser();
    // Coinslot created the session for the victim; the event claims it for the attacker.
    const session = await harness.recorded(checkoutSession({ userId: attacker, amountCents: 300 }), {
      userId: victim,
    });
    const result = await harness.deliver(stripeEvent("checkout.session.completed", session));
    expect(result.body.outcome).toBe("user_mismatch");
    expect(await balanceOf(harness.database.pool, attacker)).toBe(starterCents);
    expect(await balanceOf(harness.database.pool, victim)).toBe(starterCents);
  });
});
