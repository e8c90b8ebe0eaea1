import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fulfilCheckout } from "../src/billing/fulfil.js";
import { checkoutFacts } from "../src/billing/stripe-objects.js";
import {
  assertLedgerConsistent,
  balanceOf,
  checkoutSession,
  dispute,
  entriesOf,
  refundedCharge,
  stripeEvent,
  uniqueId,
} from "./support/billing-fixtures.js";
import { starterCents, startWebhookHarness, type WebhookHarness } from "./support/webhook-harness.js";

// Refunds and disputes through the webhook, in every order Stripe may deliver them: each is clawed
// back exactly once, whether it arrives before or after the purchase it belongs to.

let harness: WebhookHarness;
beforeAll(async () => {
  harness = await startWebhookHarness();
});
afterAll(() => harness.close());

describe("POST /api/stripe/webhook: refunds and disputes", () => {
  it("claws back a refund in two parts, once each, ignoring replays and late older totals", async () => {
    const userId = await harness.newUser();
    const session = await harness.recorded(checkoutSession({ userId, amountCents: 1000 }));
    await harness.deliver(stripeEvent("checkout.session.completed", session));
    const paymentIntentId = session.payment_intent;
    const firstPart = stripeEvent(
      "charge.refunded",
      refundedCharge({ paymentIntentId, amountCents: 1000, refundedCents: 300 }),
    );
    expect((await harness.deliver(firstPart)).body.outcome).toBe("reconciled");
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents + 700);
    expect((await harness.deliver(firstPart)).body.outcome).toBe("duplicate");

    const secondPart = stripeEvent(
      "charge.refunded",
      refundedCharge({ paymentIntentId, amountCents: 1000, refundedCents: 1000 }),
    );
    expect((await harness.deliver(secondPart)).body.outcome).toBe("reconciled");
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents);
    // The same first refund, re-sent by Stripe as a new event after the second: the total went down, nothing changes.
    const late = stripeEvent(
      "charge.refunded",
      refundedCharge({ paymentIntentId, amountCents: 1000, refundedCents: 300 }),
    );
    expect((await harness.deliver(late)).status).toBe(200);
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents);
    expect(
      (await entriesOf(harness.database.pool, userId)).filter((entry) => entry.kind === "refund"),
    ).toEqual([
      { kind: "refund", amountCents: -300 },
      { kind: "refund", amountCents: -700 },
    ]);
    expect(await harness.payment(session.id)).toMatchObject({ refunded_cents: 1000 });
    await assertLedgerConsistent(harness.database.pool);
  });

  it("claws back a refund that arrived before the purchase when the purchase arrives", async () => {
    const userId = await harness.newUser();
    const session = await harness.recorded(checkoutSession({ userId, amountCents: 500 }));
    const refund = stripeEvent(
      "charge.refunded",
      refundedCharge({ paymentIntentId: session.payment_intent, amountCents: 500, refundedCents: 200 }),
    );
    expect((await harness.deliver(refund)).body.outcome).toBe("recorded_before_purchase");
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents);

    expect((await harness.deliver(stripeEvent("checkout.session.completed", session))).body.outcome).toBe(
      "credited",
    );
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents + 300);
    expect(await harness.payment(session.id)).toMatchObject({ refunded_cents: 200 });
    await assertLedgerConsistent(harness.database.pool);
  });

  it("never loses a refund that races the purchase it refunds", async () => {
    // Twenty races of completion against a partial refund and a dispute for the same payment intent:
    // whichever commits first, the end state must be the same.
    const cases = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const userId = await harness.newUser();
        const session = await harness.recorded(checkoutSession({ userId, amountCents: 600 }));
        const paymentIntentId = session.payment_intent;
        const results = await Promise.all([
          harness.deliver(
            stripeEvent(
              "charge.refunded",
              refundedCharge({ paymentIntentId, amountCents: 600, refundedCents: 100 }),
            ),
          ),
          harness.deliver(stripeEvent("checkout.session.completed", session)),
          harness.deliver(
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
      expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents + 600 - 100 - 200);
    await assertLedgerConsistent(harness.database.pool);
  });

  it("makes a refund wait for a purchase that is being credited, then claws it back", async () => {
    const userId = await harness.newUser();
    const session = await harness.recorded(checkoutSession({ userId, amountCents: 600 }));
    // Hold the purchase's transaction open after it read the refund reports (none yet) ...
    const client = await harness.database.pool.connect();
    await client.query("begin");
    expect(await fulfilCheckout(harness.context, client, checkoutFacts(session as never))).toBe("credited");
    // ... while the refund arrives. It must wait for the purchase rather than record itself as early.
    const refund = harness.deliver(
      stripeEvent(
        "charge.refunded",
        refundedCharge({ paymentIntentId: session.payment_intent, amountCents: 600, refundedCents: 100 }),
      ),
    );
    await Promise.race([refund, new Promise((done) => setTimeout(done, 300))]);
    await client.query("commit");
    client.release();
    expect((await refund).body.outcome).toBe("reconciled");
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents + 500);
    await assertLedgerConsistent(harness.database.pool);
  });

  it("takes a lost dispute's amount, even below zero, and spending is then refused", async () => {
    const userId = await harness.newUser();
    const session = await harness.recorded(checkoutSession({ userId, amountCents: 500 }));
    await harness.deliver(stripeEvent("checkout.session.completed", session));
    expect(
      (await harness.ledger.spend({ userId, amountCents: 400, idempotencyKey: uniqueId("spend:") })).error,
    ).toBeNull();
    const opened = dispute({
      id: uniqueId("dp_"),
      paymentIntentId: session.payment_intent,
      amountCents: 500,
      status: "needs_response",
    });
    expect((await harness.deliver(stripeEvent("charge.dispute.created", opened))).body.outcome).toBe(
      "reconciled",
    );
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents + 500 - 400 - 500);
    expect(
      (await harness.deliver(stripeEvent("charge.dispute.closed", { ...opened, status: "lost" }))).status,
    ).toBe(200);
    expect(await balanceOf(harness.database.pool, userId)).toBe(-350);
    const spend = await harness.ledger.spend({ userId, amountCents: 1, idempotencyKey: uniqueId("spend:") });
    expect(spend.error?.code).toBe("INSUFFICIENT_CREDITS");
    await assertLedgerConsistent(harness.database.pool);
  });

  it("returns a won dispute's amount once", async () => {
    const userId = await harness.newUser();
    const session = await harness.recorded(checkoutSession({ userId, amountCents: 500 }));
    await harness.deliver(stripeEvent("checkout.session.completed", session));
    const opened = dispute({
      id: uniqueId("dp_"),
      paymentIntentId: session.payment_intent,
      amountCents: 500,
      status: "needs_response",
    });
    await harness.deliver(stripeEvent("charge.dispute.created", opened));
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents);
    const won = stripeEvent("charge.dispute.closed", { ...opened, status: "won" });
    expect((await harness.deliver(won)).body.outcome).toBe("reconciled");
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents + 500);
    // Stripe re-sends the same dispute under a new event id; it must not pay back twice, nor reopen.
    await harness.deliver(stripeEvent("charge.dispute.closed", { ...opened, status: "won" }));
    await harness.deliver(stripeEvent("charge.dispute.updated", opened));
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents + 500);
    expect((await entriesOf(harness.database.pool, userId)).map((entry) => entry.kind)).toEqual([
      "signup_bonus",
      "purchase",
      "dispute",
      "dispute_reversal",
    ]);
    await assertLedgerConsistent(harness.database.pool);
  });
});

describe("POST /api/stripe/webhook: refunds and disputes after the purchase's credit expired", () => {
  /** Credits a purchase, spends `spentCents` of it, and lets the rest expire (as PAID_CREDIT_DAYS would). */
  async function expiredPurchase(amountCents: number, spentCents: number) {
    const userId = await harness.newUser();
    const session = await harness.recorded(checkoutSession({ userId, amountCents }));
    await harness.deliver(stripeEvent("checkout.session.completed", session));
    // The starter credit goes first so the spend below comes out of the purchase.
    await harness.ledger.spend({
      userId,
      amountCents: starterCents + spentCents,
      idempotencyKey: uniqueId("use-"),
    });
    const pool = harness.database.pool;
    await pool.query(
      `update credits.lots set expires_at = now() - interval '1 second'
        where entry_id = (select id from credits.entries where kind = 'purchase' and reference = $1)`,
      [session.id],
    );
    await harness.ledger.sweepExpiredLots();
    expect(await balanceOf(pool, userId)).toBe(0);
    return { userId, session };
  }

  it("claws back only what did not expire: a full refund of $10 of which $3 was used owes $3, not $10", async () => {
    const { userId, session } = await expiredPurchase(1000, 300);
    const refundOf = (refundedCents: number) =>
      stripeEvent(
        "charge.refunded",
        refundedCharge({ paymentIntentId: session.payment_intent, amountCents: 1000, refundedCents }),
      );
    // A first part of $5 is all expired credit: nothing to take back.
    expect((await harness.deliver(refundOf(500))).body.outcome).toBe("reconciled");
    expect(await balanceOf(harness.database.pool, userId)).toBe(0);
    // The rest: $2 more of expired credit, then the $3 that was used, owed.
    expect((await harness.deliver(refundOf(1000))).body.outcome).toBe("reconciled");
    expect(await balanceOf(harness.database.pool, userId)).toBe(-300);
    const refunds = (await entriesOf(harness.database.pool, userId)).filter(
      (entry) => entry.kind === "refund",
    );
    expect(refunds).toEqual([{ kind: "refund", amountCents: -300 }]);
    const { rows } = await harness.database.pool.query(
      "select refunded_cents::int, expired_forgiven_cents::int from credits.payments where checkout_session_id = $1",
      [session.id],
    );
    expect(rows[0]).toEqual({ refunded_cents: 1000, expired_forgiven_cents: 700 });
    await assertLedgerConsistent(harness.database.pool);
  });

  it("a lost dispute takes only the used part, and winning it returns only that", async () => {
    const { userId, session } = await expiredPurchase(500, 200);
    const opened = dispute({
      id: uniqueId("dp_"),
      paymentIntentId: session.payment_intent,
      amountCents: 500,
      status: "needs_response",
    });
    await harness.deliver(stripeEvent("charge.dispute.created", opened));
    expect(await balanceOf(harness.database.pool, userId)).toBe(-200);
    await harness.deliver(stripeEvent("charge.dispute.closed", { ...opened, status: "won" }));
    expect(await balanceOf(harness.database.pool, userId)).toBe(0);
    await assertLedgerConsistent(harness.database.pool);
  });
});

describe("POST /api/stripe/webhook: refunds and disputes of a payment never credited", () => {
  it("takes nothing back for a session Coinslot did not create, in either order", async () => {
    const userId = await harness.newUser();
    const before = checkoutSession({ userId, amountCents: 2000 });
    const after = checkoutSession({ userId, amountCents: 2000 });
    const refund = (session: typeof before) =>
      stripeEvent(
        "charge.refunded",
        refundedCharge({ paymentIntentId: session.payment_intent, amountCents: 2000, refundedCents: 2000 }),
      );
    expect((await harness.deliver(refund(before))).body.outcome).toBe("recorded_before_purchase");
    for (const session of [before, after]) {
      expect((await harness.deliver(stripeEvent("checkout.session.completed", session))).body.outcome).toBe(
        "not_created_here",
      );
    }
    expect((await harness.deliver(refund(after))).body.outcome).toBe("recorded_before_credit");
    const lost = dispute({
      id: uniqueId("dp_"),
      paymentIntentId: after.payment_intent,
      amountCents: 2000,
      status: "lost",
    });
    expect((await harness.deliver(stripeEvent("charge.dispute.closed", lost))).status).toBe(200);
    expect(await balanceOf(harness.database.pool, userId)).toBe(starterCents);
    expect((await entriesOf(harness.database.pool, userId)).map((entry) => entry.kind)).toEqual([
      "signup_bonus",
    ]);
    await assertLedgerConsistent(harness.database.pool);
  });
});
