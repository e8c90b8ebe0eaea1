import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mailDueNotices } from "../src/alerts/jobs.js";
import { unwrap } from "../src/ledger/index.js";
import { createTestApp, type SignedUp, type TestApp } from "./support/app.js";
import { findInvariantViolations } from "./support/ledger-invariants.js";

// Low-balance alerts on a real PostgreSQL: the trigger on credits.accounts sees each crossing below a
// person's threshold once, whatever races; the notice becomes a banner and one email.

let test: TestApp;
const origin = "http://localhost:3000";
let keyCount = 0;
const key = (what: string) => `${what}-${++keyCount}-${Date.now()}`;

async function call(cookie: string, method: string, path: string, body?: unknown) {
  const response = await test.app.request(path, {
    method,
    headers: { cookie, "content-type": "application/json", origin },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

async function person(): Promise<SignedUp> {
  const signedUp = await test.signUp();
  // Opens the account with NEW_USER_CREDITS_CENTS (500 here).
  await test.app.request("/api/me", { headers: { cookie: signedUp.cookie } });
  return signedUp;
}

const spend = async (who: SignedUp, amountCents: number) =>
  unwrap(await test.ledger.spend({ userId: who.user.id, amountCents, idempotencyKey: key("spend") }));
const grant = async (who: SignedUp, amountCents: number) =>
  unwrap(
    await test.ledger.grant({
      userId: who.user.id,
      amountCents,
      kind: "adjustment",
      idempotencyKey: key("grant"),
    }),
  );

async function noticesOf(who: SignedUp) {
  const answer = await call(who.cookie, "GET", "/api/notices");
  expect(answer.status).toBe(200);
  return answer.body.notices as { id: string; kind: string; data: Record<string, number> }[];
}

async function lowBalanceNoticeCount(who: SignedUp): Promise<number> {
  const { rows } = await test.database.pool.query(
    "select count(*)::int as n from alerts.notices where user_id = $1 and kind = 'low_balance'",
    [who.user.id],
  );
  return rows[0].n;
}

beforeAll(async () => {
  test = await createTestApp({ NEW_USER_CREDITS_CENTS: "500" });
});
afterAll(() => test?.close());

describe("the low-balance alert", () => {
  it("fires once when available credit crosses below the default threshold, and re-arms with new credit", async () => {
    const someone = await person();
    await spend(someone, 450); // 50 left: below 100
    await spend(someone, 10); // still below: nothing new
    const [notice, ...rest] = await noticesOf(someone);
    expect(rest).toEqual([]);
    expect(notice).toMatchObject({ kind: "low_balance", data: { availableCents: 50, thresholdCents: 100 } });
    await grant(someone, 200); // 240: re-armed, and the banner goes away with the reason for it
    expect(await noticesOf(someone)).toEqual([]);
    await spend(someone, 200); // 40: crosses again
    const again = await noticesOf(someone);
    expect(again).toHaveLength(1);
    expect(again[0]?.data).toMatchObject({ availableCents: 40, thresholdCents: 100 });
    expect(await lowBalanceNoticeCount(someone)).toBe(2);
  });

  it("counts held credit, but a hold's release does not re-arm it (no alert per chat near the threshold)", async () => {
    const someone = await person();
    await spend(someone, 350); // 150
    const { hold } = unwrap(
      await test.ledger.placeHold({ userId: someone.user.id, amountCents: 60, idempotencyKey: key("hold") }),
    ); // available 90: crossing
    expect(await lowBalanceNoticeCount(someone)).toBe(1);
    unwrap(await test.ledger.settleHold({ holdId: hold.id, amountCents: 5 })); // available 145
    unwrap(
      await test.ledger.placeHold({ userId: someone.user.id, amountCents: 60, idempotencyKey: key("hold") }),
    );
    expect(await lowBalanceNoticeCount(someone)).toBe(1);
  });

  it("fires exactly once when 50 spends race across the threshold, and once more per later crossing", async () => {
    const someone = await person();
    const spends = await Promise.all(
      Array.from({ length: 50 }, () =>
        test.ledger.spend({ userId: someone.user.id, amountCents: 9, idempotencyKey: key("race") }),
      ),
    );
    expect(spends.every((result) => result.error === null)).toBe(true); // 500 - 450 = 50
    expect(await lowBalanceNoticeCount(someone)).toBe(1);
    await Promise.all(
      Array.from({ length: 20 }, () =>
        test.ledger.grant({
          userId: someone.user.id,
          amountCents: 10,
          kind: "adjustment",
          idempotencyKey: key("g"),
        }),
      ),
    ); // 250
    await Promise.all(
      Array.from({ length: 30 }, () =>
        test.ledger.spend({ userId: someone.user.id, amountCents: 6, idempotencyKey: key("race") }),
      ),
    ); // 70
    expect(await lowBalanceNoticeCount(someone)).toBe(2);
    expect(await findInvariantViolations(test.database.pool)).toEqual([]);
  });

  it("starts nothing for an account that begins below the threshold (no crossing)", async () => {
    const poor = await createTestApp({ NEW_USER_CREDITS_CENTS: "50" });
    try {
      const signedUp = await poor.signUp();
      await poor.app.request("/api/me", { headers: { cookie: signedUp.cookie } });
      unwrap(await poor.ledger.spend({ userId: signedUp.user.id, amountCents: 5, idempotencyKey: "first" }));
      const { rows } = await poor.database.pool.query("select count(*)::int as n from alerts.notices");
      expect(rows[0].n).toBe(0);
    } finally {
      await poor.close();
    }
  });
});

describe("the person's threshold", () => {
  it("defaults to LOW_BALANCE_ALERT_CENTS, can be set, reset and turned off", async () => {
    const someone = await person();
    expect((await call(someone.cookie, "GET", "/api/alerts/low-balance")).body).toEqual({
      thresholdCents: 100,
      defaultCents: 100,
      custom: false,
    });
    const set = await call(someone.cookie, "PUT", "/api/alerts/low-balance", { thresholdCents: 300 });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ thresholdCents: 300, defaultCents: 100, custom: true });
    await spend(someone, 250); // 250 < 300: the person's own threshold
    expect((await noticesOf(someone))[0]?.data).toMatchObject({ availableCents: 250, thresholdCents: 300 });

    const off = await call(someone.cookie, "PUT", "/api/alerts/low-balance", { thresholdCents: 0 });
    expect(off.body.thresholdCents).toBe(0);
    await grant(someone, 1_000);
    await spend(someone, 1_240); // 10 left, alert off
    expect(await lowBalanceNoticeCount(someone)).toBe(1);

    const reset = await call(someone.cookie, "PUT", "/api/alerts/low-balance", { thresholdCents: null });
    expect(reset.body).toEqual({ thresholdCents: 100, defaultCents: 100, custom: false });
  });

  it("raised above the credit the person has, counts as seen: no alert until credit is back and falls again", async () => {
    const someone = await person();
    await call(someone.cookie, "PUT", "/api/alerts/low-balance", { thresholdCents: 1_000 });
    await spend(someone, 100); // 400, already below
    expect(await lowBalanceNoticeCount(someone)).toBe(0);
    await grant(someone, 700); // 1100: re-armed
    await spend(someone, 200); // 900: crossing
    expect(await lowBalanceNoticeCount(someone)).toBe(1);
  });

  it("refuses values that are not whole cents from 0 to 100,000,000 (400, nothing changed)", async () => {
    const someone = await person();
    for (const body of [
      { thresholdCents: -1 },
      { thresholdCents: 1.5 },
      { thresholdCents: "100" },
      {},
      { thresholdCents: 100_000_001 },
    ]) {
      const answer = await call(someone.cookie, "PUT", "/api/alerts/low-balance", body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe("INVALID_REQUEST");
    }
    expect((await call(someone.cookie, "GET", "/api/alerts/low-balance")).body.custom).toBe(false);
    expect((await test.app.request("/api/alerts/low-balance")).status).toBe(401);
  });
});

describe("notices", () => {
  it("are each person's own, and dismissed by their owner only", async () => {
    const owner = await person();
    const other = await person();
    await spend(owner, 450);
    const [notice] = await noticesOf(owner);
    expect(notice).toBeDefined();
    expect(await noticesOf(other)).toEqual([]);
    const stolen = await call(other.cookie, "POST", `/api/notices/${notice?.id}/dismiss`);
    expect(stolen.status).toBe(404);
    expect(await noticesOf(owner)).toHaveLength(1);
    expect((await call(owner.cookie, "POST", "/api/notices/abc/dismiss")).status).toBe(400);
    const dismissed = await call(owner.cookie, "POST", `/api/notices/${notice?.id}/dismiss`);
    expect(dismissed.status).toBe(200);
    expect(await noticesOf(owner)).toEqual([]);
    // Dismissing twice is fine: a double click.
    expect((await call(owner.cookie, "POST", `/api/notices/${notice?.id}/dismiss`)).status).toBe(200);
  });

  it("become one email each, however many mailing passes run at once", async () => {
    const someone = await person();
    await spend(someone, 420);
    await Promise.all([
      mailDueNotices(test.database.pool, { currency: "usd" }),
      mailDueNotices(test.database.pool, { currency: "usd" }),
      mailDueNotices(test.database.pool, { currency: "usd" }),
    ]);
    await mailDueNotices(test.database.pool, { currency: "usd" });
    const { rows } = await test.database.pool.query(
      "select to_address, data from mail.outbox where user_id = $1 and kind = 'low-balance'",
      [someone.user.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].to_address).toBe(someone.user.email);
    expect(rows[0].data).toMatchObject({ availableCents: 80, thresholdCents: 100, currency: "usd" });
  });

  it("mail an app's customer only once their address is proven, as receipts do", async () => {
    const customer = await person();
    await test.database.pool.query("insert into metering.customers (id, user_id) values ($1, $2)", [
      `app-${customer.user.id}`,
      customer.user.id,
    ]);
    await spend(customer, 450);
    await mailDueNotices(test.database.pool, { currency: "usd" });
    const mailed = async () =>
      (
        await test.database.pool.query(
          "select count(*)::int as n from mail.outbox where user_id = $1 and kind = 'low-balance'",
          [customer.user.id],
        )
      ).rows[0].n;
    expect(await mailed()).toBe(0);
    await test.verifyEmail(customer.user.email);
    await grant(customer, 500);
    await spend(customer, 500);
    await mailDueNotices(test.database.pool, { currency: "usd" });
    expect(await mailed()).toBe(1);
  });

  it("mail no one at a deleted account's address", async () => {
    const someone = await person();
    unwrap(await test.ledger.closeAccount({ userId: someone.user.id }));
    await spend(someone, 450);
    expect(await lowBalanceNoticeCount(someone)).toBe(1);
    await mailDueNotices(test.database.pool, { currency: "usd" });
    const { rows } = await test.database.pool.query(
      "select count(*)::int as n from mail.outbox where user_id = $1 and kind = 'low-balance'",
      [someone.user.id],
    );
    expect(rows[0].n).toBe(0);
  });
});
