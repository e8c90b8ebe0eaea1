import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eraseUser } from "../src/account/erase.js";
import { chargeDueTopUps } from "../src/billing/auto-topup-worker.js";
import {
  type AutoTopUpHarness,
  autoTopUpMails,
  availableOf,
  endFailurePause,
  purchasesOf,
  startAutoTopUpHarness,
  topUpsOf,
} from "./auto-topup-support.js";
import { assertLedgerConsistent, signedDelivery, stripeEvent, uniqueId } from "./support/billing-fixtures.js";

// Auto top-up offline, end to end over real HTTP: the settings routes, the simulator's Checkout
// that saves a test card, spends through the real ledger (the database trigger starts top-ups),
// the worker's pass run by hand, and the simulator's signed payment_intent events arriving at
// the real webhook route before the worker records its answer.

const authCard = "4000 0027 6000 3184";
const declinedCard = "4000 0000 0000 0002";
const okCard = "4242 4242 4242 4242";

let harness: AutoTopUpHarness;

beforeAll(async () => {
  harness = await startAutoTopUpHarness();
});
afterAll(async () => {
  await harness?.close();
});

type Person = { cookie: string; userId: string; email: string };

/** Pays a simulator Checkout with `card` typed on its page; answers the page's redirect. */
async function payOnSimulator(url: string, card: string): Promise<Response> {
  const page = await fetch(url);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('name="card"');
  return fetch(`${url}/pay`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ card }).toString(),
  });
}

const settings = { thresholdCents: 200, amountCents: 500, monthlyLimitCents: 2000 };

/** A person who turned auto top-up on through the simulator's Checkout, saving `card`: $5.00 bought. */
async function personWithAutoTopUp(card: string, amounts = settings): Promise<Person> {
  const person = await harness.signUp();
  const response = await harness.call(person.cookie, "PUT", "/api/auto-topup", { enabled: true, ...amounts });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { checkoutUrl: string; autoTopUp: { state: string } };
  expect(body.autoTopUp.state).toBe("awaiting_card");
  expect((await payOnSimulator(body.checkoutUrl, card)).status).toBe(303);
  expect((await harness.view(person.cookie)).state).toBe("on");
  return person;
}

async function spend(userId: string, amountCents: number) {
  return harness.context.ledger.spend({ userId, amountCents, idempotencyKey: uniqueId("spend-") });
}

describe("turning auto top-up on", () => {
  it("goes through Checkout once, which buys the first amount and saves the card; then it is on", async () => {
    const person = await personWithAutoTopUp(okCard);
    expect(await availableOf(harness, person.userId)).toBe(500);
    expect(await purchasesOf(harness, person.userId)).toHaveLength(1);
    const view = await harness.view(person.cookie);
    expect(view).toMatchObject({ state: "on", cardSaved: true, ...settings });
    // Off and on again: the saved card is used, no second Checkout.
    const off = await harness.call(person.cookie, "PUT", "/api/auto-topup", { enabled: false, ...settings });
    expect(((await off.json()) as { autoTopUp: { state: string } }).autoTopUp.state).toBe("off");
    const on = await harness.call(person.cookie, "PUT", "/api/auto-topup", { enabled: true, ...settings });
    expect(await on.json()).toMatchObject({ checkoutUrl: null, autoTopUp: { state: "on" } });
  });
});

describe("a spend that leaves available credit below the threshold", () => {
  it("50 concurrent spends crossing it start exactly one top-up, credited once by one purchase", async () => {
    const person = await personWithAutoTopUp(okCard);
    const spent = await Promise.all(Array.from({ length: 50 }, () => spend(person.userId, 8)));
    expect(spent.every((result) => result.error === null)).toBe(true);
    expect(await availableOf(harness, person.userId)).toBe(100);
    const started = await topUpsOf(harness, person.userId);
    expect(started).toHaveLength(1);
    expect(started[0]?.status).toBe("pending");

    // Several passes at once (several servers): one charge.
    await Promise.all([chargeDueTopUps(harness.context), chargeDueTopUps(harness.context)]);
    const [topUp] = await topUpsOf(harness, person.userId);
    expect(topUp?.status).toBe("succeeded");
    expect(await availableOf(harness, person.userId)).toBe(600);
    const purchases = await purchasesOf(harness, person.userId);
    expect(purchases).toHaveLength(2);
    expect(purchases[1]).toEqual({ reference: topUp?.payment_intent_id, amountCents: 500 });
    // Its receipt, like any purchase's.
    const receipts = await harness.database.pool.query(
      "select 1 from mail.outbox where kind = 'receipt' and data->>'reference' = $1",
      [topUp?.payment_intent_id],
    );
    expect(receipts.rowCount).toBe(1);
    await assertLedgerConsistent(harness.database.pool);
  });

  it("starts none for a hold, only for a charge: a hold settled above the threshold costs the card nothing", async () => {
    const person = await personWithAutoTopUp(okCard);
    const ledger = harness.context.ledger;
    // Available 500 → 150 while the hold reserves 350, but it settles for 20: credit never ran low.
    const held = await ledger.placeHold({
      userId: person.userId,
      amountCents: 350,
      idempotencyKey: uniqueId("h-"),
    });
    expect(held.error).toBeNull();
    expect(await topUpsOf(harness, person.userId)).toEqual([]);
    await ledger.settleHold({ holdId: held.data?.hold.id as string, amountCents: 20 });
    expect(await topUpsOf(harness, person.userId)).toEqual([]);
    // A settlement that does leave it low starts one.
    const big = await ledger.placeHold({
      userId: person.userId,
      amountCents: 400,
      idempotencyKey: uniqueId("h-"),
    });
    await ledger.settleHold({ holdId: big.data?.hold.id as string, amountCents: 300 });
    expect((await topUpsOf(harness, person.userId)).map((topUp) => topUp.status)).toEqual(["pending"]);
  });

  it("charges nothing when credit came back before the worker got to the top-up", async () => {
    const person = await personWithAutoTopUp(okCard);
    expect((await spend(person.userId, 350)).error).toBeNull();
    expect((await topUpsOf(harness, person.userId)).map((topUp) => topUp.status)).toEqual(["pending"]);
    await harness.context.ledger.grant({
      userId: person.userId,
      amountCents: 300,
      kind: "adjustment",
      idempotencyKey: uniqueId("back-"),
    });
    await chargeDueTopUps(harness.context);
    expect((await topUpsOf(harness, person.userId)).map((topUp) => topUp.status)).toEqual(["canceled"]);
    expect(await purchasesOf(harness, person.userId)).toHaveLength(1);
  });

  it("never charges the card of a deleted account, and expiring credit starts no top-up", async () => {
    const person = await personWithAutoTopUp(okCard);
    const ledger = harness.context.ledger;
    // Promotional credit that lapses, with the threshold now above what is left after it: 600 → 500.
    await ledger.grant({
      userId: person.userId,
      amountCents: 100,
      kind: "promo_code",
      expiresAt: new Date(Date.now() + 300),
      idempotencyKey: uniqueId("promo-"),
    });
    const raised = { ...settings, thresholdCents: 700 };
    expect(
      (await harness.call(person.cookie, "PUT", "/api/auto-topup", { enabled: true, ...raised })).status,
    ).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await ledger.sweepExpiredLots()).expired).toBeGreaterThanOrEqual(1);
    expect(await availableOf(harness, person.userId)).toBe(500);
    expect(await topUpsOf(harness, person.userId)).toEqual([]);

    // Deleted: auto top-up is off and its card forgotten, so a charge below the threshold starts nothing.
    await eraseUser(harness.database.pool, person.userId);
    await ledger.closeAccount({ userId: person.userId });
    expect((await spend(person.userId, 10)).error).toBeNull();
    await chargeDueTopUps(harness.context);
    expect(await topUpsOf(harness, person.userId)).toEqual([]);
    const { rows } = await harness.database.pool.query(
      "select enabled, card_saved, payment_method_id from credits.auto_topup_settings where user_id = $1",
      [person.userId],
    );
    expect(rows[0]).toEqual({ enabled: false, card_saved: false, payment_method_id: null });
  });

  it("credits a top-up once however many duplicate payment_intent.succeeded webhooks race the worker", async () => {
    const person = await personWithAutoTopUp(okCard);
    expect((await spend(person.userId, 350)).error).toBeNull();
    const [topUp] = await topUpsOf(harness, person.userId);
    expect(topUp?.status).toBe("pending");
    const paymentIntentId = uniqueId("pi_test_");
    const intent = {
      id: paymentIntentId,
      object: "payment_intent",
      amount: 500,
      amount_received: 500,
      currency: "usd",
      status: "succeeded",
      metadata: { user_id: person.userId, auto_topup_id: topUp?.id },
    };
    const event = stripeEvent("payment_intent.succeeded", intent);
    const deliveries = [event, event, stripeEvent("payment_intent.succeeded", intent), event].map((sent) =>
      fetch(`${harness.baseUrl}/api/stripe/webhook`, signedDelivery(sent)),
    );
    const statuses = (await Promise.all(deliveries)).map((response) => response.status);
    expect(statuses).toEqual([200, 200, 200, 200]);
    // The top-up is answered; the worker finds nothing left to charge.
    expect((await topUpsOf(harness, person.userId))[0]).toMatchObject({
      status: "succeeded",
      payment_intent_id: paymentIntentId,
    });
    await chargeDueTopUps(harness.context);
    const purchases = (await purchasesOf(harness, person.userId)).filter(
      (entry) => entry.reference === paymentIntentId,
    );
    expect(purchases).toEqual([{ reference: paymentIntentId, amountCents: 500 }]);
    expect(await availableOf(harness, person.userId)).toBe(650);

    // A refund of the top-up claws back like a purchase's, and does not start another top-up.
    const refund = await fetch(
      `${harness.baseUrl}/api/stripe/webhook`,
      signedDelivery(
        stripeEvent("charge.refunded", {
          id: uniqueId("ch_"),
          object: "charge",
          amount: 500,
          amount_refunded: 500,
          currency: "usd",
          payment_intent: paymentIntentId,
        }),
      ),
    );
    expect(refund.status).toBe(200);
    expect(await availableOf(harness, person.userId)).toBe(150);
    expect(await topUpsOf(harness, person.userId)).toHaveLength(1);
    await assertLedgerConsistent(harness.database.pool);
  });

  it("claws a disputed top-up back like a disputed purchase, without starting another", async () => {
    const person = await personWithAutoTopUp(okCard);
    expect((await spend(person.userId, 400)).error).toBeNull();
    await chargeDueTopUps(harness.context);
    const [topUp] = await topUpsOf(harness, person.userId);
    expect(topUp?.status).toBe("succeeded");
    expect(await availableOf(harness, person.userId)).toBe(600);
    const disputed = stripeEvent("charge.dispute.created", {
      id: uniqueId("dp_"),
      object: "dispute",
      amount: 500,
      currency: "usd",
      payment_intent: topUp?.payment_intent_id,
      status: "needs_response",
    });
    const response = await fetch(`${harness.baseUrl}/api/stripe/webhook`, signedDelivery(disputed));
    expect(response.status).toBe(200);
    expect(await availableOf(harness, person.userId)).toBe(100);
    expect(await topUpsOf(harness, person.userId)).toHaveLength(1);
    await assertLedgerConsistent(harness.database.pool);
  });

  it("holds the monthly cap: no top-up past it this calendar month", async () => {
    const person = await personWithAutoTopUp(okCard, {
      thresholdCents: 200,
      amountCents: 500,
      monthlyLimitCents: 1000,
    });
    for (let round = 0; round < 2; round++) {
      expect(
        (await spend(person.userId, (await availableOf(harness, person.userId)) - 100)).error,
      ).toBeNull();
      await chargeDueTopUps(harness.context);
    }
    expect((await topUpsOf(harness, person.userId)).map((topUp) => topUp.status)).toEqual([
      "succeeded",
      "succeeded",
    ]);
    expect(await availableOf(harness, person.userId)).toBe(600);
    // 1000 bought by top-ups this month: a third would pass the cap.
    expect((await spend(person.userId, 550)).error).toBeNull();
    expect(await topUpsOf(harness, person.userId)).toHaveLength(2);
    expect((await harness.view(person.cookie)).monthTotalCents).toBe(1000);
  });
});

describe("a top-up the bank will not take without the person", () => {
  it("fails with authentication required, emails and shows a notice, and the person finishes it", async () => {
    const person = await personWithAutoTopUp(authCard);
    expect((await spend(person.userId, 400)).error).toBeNull();
    await chargeDueTopUps(harness.context);
    const [failed] = await topUpsOf(harness, person.userId);
    expect(failed).toMatchObject({ status: "failed", failure_code: "authentication_required" });
    expect(await availableOf(harness, person.userId)).toBe(100);
    const mails = await autoTopUpMails(harness, person.email);
    expect(mails).toEqual([expect.objectContaining({ turnedOff: false, url: "/account#auto-top-up" })]);
    const view = await harness.view(person.cookie);
    expect(view.notice).toMatchObject({ topUpId: failed?.id, amountCents: 500, turnedOff: false });
    expect(view.consecutiveFailures).toBe(1);
    // Paused: more spending does not ask the card again (no retry storm).
    expect((await spend(person.userId, 10)).error).toBeNull();
    expect(await topUpsOf(harness, person.userId)).toHaveLength(1);

    const finish = await harness.call(person.cookie, "POST", `/api/auto-topup/top-ups/${failed?.id}/finish`);
    expect(finish.status).toBe(200);
    const { url } = (await finish.json()) as { url: string };
    // On-session, the bank's question is answered on the page: the payment goes through.
    expect((await payOnSimulator(url, authCard)).status).toBe(303);
    expect((await topUpsOf(harness, person.userId))[0]?.status).toBe("succeeded");
    expect(await availableOf(harness, person.userId)).toBe(590);
    const after = await harness.view(person.cookie);
    expect(after).toMatchObject({ notice: null, consecutiveFailures: 0, pausedUntil: null, state: "on" });
    await assertLedgerConsistent(harness.database.pool);
  });

  it("turns itself off after three failures in a row, and says so", async () => {
    const person = await personWithAutoTopUp(declinedCard);
    for (let failure = 1; failure <= 3; failure++) {
      await endFailurePause(harness, person.userId);
      expect((await spend(person.userId, failure === 1 ? 400 : 1)).error).toBeNull();
      await chargeDueTopUps(harness.context);
    }
    const topUps = await topUpsOf(harness, person.userId);
    expect(topUps.map((topUp) => [topUp.status, topUp.failure_code])).toEqual([
      ["failed", "card_declined"],
      ["failed", "card_declined"],
      ["failed", "card_declined"],
    ]);
    const view = await harness.view(person.cookie);
    expect(view).toMatchObject({ state: "turned_off_after_failures", consecutiveFailures: 3 });
    expect(view.notice).toMatchObject({ turnedOff: true });
    expect((await autoTopUpMails(harness, person.email)).map((mail) => mail.turnedOff)).toEqual([
      false,
      false,
      true,
    ]);
    // Off: spending starts nothing, pause or not.
    await endFailurePause(harness, person.userId);
    expect((await spend(person.userId, 1)).error).toBeNull();
    expect(await topUpsOf(harness, person.userId)).toHaveLength(3);
  });
});

describe("the routes' bounds", () => {
  it("answers 401 without a session", async () => {
    expect((await harness.call("", "GET", "/api/auto-topup")).status).toBe(401);
    expect((await harness.call("", "PUT", "/api/auto-topup", { enabled: false, ...settings })).status).toBe(
      401,
    );
  });

  it("refuses amounts outside TOPUP_* and malformed bodies with what to fix", async () => {
    const { cookie } = await harness.signUp();
    const refused = async (body: unknown) => {
      const response = await harness.call(cookie, "PUT", "/api/auto-topup", body);
      expect(response.status).toBe(400);
      return ((await response.json()) as { error: { code: string } }).error.code;
    };
    expect(await refused({ enabled: true, ...settings, amountCents: 5000 })).toBe("INVALID_AMOUNT");
    expect(await refused({ enabled: true, ...settings, amountCents: 175 })).toBe("INVALID_AMOUNT");
    expect(await refused({ enabled: true, ...settings, thresholdCents: 50 })).toBe("INVALID_AMOUNT");
    expect(await refused({ enabled: true, ...settings, monthlyLimitCents: 100 })).toBe("INVALID_AMOUNT");
    expect(await refused({ enabled: true, ...settings, thresholdCents: 1.5 })).toBe("INVALID_REQUEST");
    expect(await refused({ enabled: true, ...settings, extra: 1 })).toBe("INVALID_REQUEST");
    expect(await refused({ enabled: "yes", ...settings })).toBe("INVALID_REQUEST");
  });

  it("limits the requests that reach Stripe: the 21st Checkout in a minute is 429 with Retry-After", async () => {
    const { cookie } = await harness.signUp();
    for (let click = 1; click <= 20; click++) {
      const response = await harness.call(cookie, "PUT", "/api/auto-topup", { enabled: true, ...settings });
      expect(response.status).toBe(200);
    }
    const refused = await harness.call(cookie, "PUT", "/api/auto-topup", { enabled: true, ...settings });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // Turning it off reaches no Stripe and is never refused.
    expect(
      (await harness.call(cookie, "PUT", "/api/auto-topup", { enabled: false, ...settings })).status,
    ).toBe(200);
  });

  it("never lets one person finish or dismiss another's top-up", async () => {
    const owner = await personWithAutoTopUp(declinedCard);
    expect((await spend(owner.userId, 400)).error).toBeNull();
    await chargeDueTopUps(harness.context);
    const [failed] = await topUpsOf(harness, owner.userId);
    const stranger = await harness.signUp();
    for (const action of ["finish", "dismiss"]) {
      const response = await harness.call(
        stranger.cookie,
        "POST",
        `/api/auto-topup/top-ups/${failed?.id}/${action}`,
      );
      expect(response.status).toBe(404);
    }
    const dismissed = await harness.call(
      owner.cookie,
      "POST",
      `/api/auto-topup/top-ups/${failed?.id}/dismiss`,
    );
    expect(dismissed.status).toBe(200);
    expect((await harness.view(owner.cookie)).notice).toBeNull();
  });
});
