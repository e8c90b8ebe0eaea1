import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expiringReminderMinimumCents, remindExpiringCredits } from "../src/alerts/jobs.js";
import { unwrap } from "../src/ledger/index.js";
import { createTestApp, type SignedUp, type TestApp } from "./support/app.js";

// The week-ahead reminder of expiring credit: one email per lot with at least 50 cents left, however
// many servers run the pass at once.

let test: TestApp;
const dayMs = 24 * 60 * 60 * 1000;
let keyCount = 0;

async function person(): Promise<SignedUp> {
  const signedUp = await test.signUp();
  await test.app.request("/api/me", { headers: { cookie: signedUp.cookie } });
  return signedUp;
}

async function grantExpiring(who: SignedUp, amountCents: number, inDays: number | null) {
  const change = unwrap(
    await test.ledger.grant({
      userId: who.user.id,
      amountCents,
      kind: "adjustment",
      category: "promo",
      expiresAt: inDays === null ? null : new Date(Date.now() + inDays * dayMs),
      idempotencyKey: `expiring-${++keyCount}`,
    }),
  );
  return change.entry.id;
}

async function remindersTo(who: SignedUp) {
  const { rows } = await test.database.pool.query(
    "select to_address, data from mail.outbox where user_id = $1 and kind = 'credits-expiring' order by id",
    [who.user.id],
  );
  return rows as { to_address: string; data: { amountCents: number; expiresAt: string; currency: string } }[];
}

const pass = () => remindExpiringCredits(test.database.pool, { currency: "usd" });

beforeAll(async () => {
  // The starter credit is a promo lot of PROMO_CREDIT_DAYS (90): far outside the week.
  test = await createTestApp({ NEW_USER_CREDITS_CENTS: "500" });
});
afterAll(() => test?.close());

describe("the expiring-credit reminder", () => {
  it("mails once per lot expiring within a week, with what is left of it, whatever passes race", async () => {
    const someone = await person();
    await grantExpiring(someone, 300, 3);
    // Spending draws the soonest-expiring lot first: 100 of the 300 are used.
    unwrap(
      await test.ledger.spend({
        userId: someone.user.id,
        amountCents: 100,
        idempotencyKey: `use-${++keyCount}`,
      }),
    );
    await Promise.all([pass(), pass(), pass(), pass()]);
    await pass();
    const reminders = await remindersTo(someone);
    expect(reminders).toHaveLength(1);
    expect(reminders[0]?.to_address).toBe(someone.user.email);
    expect(reminders[0]?.data).toMatchObject({ amountCents: 200, currency: "usd" });
    const inDays = (Date.parse(reminders[0]?.data.expiresAt ?? "") - Date.now()) / dayMs;
    expect(inDays).toBeGreaterThan(2.9);
    expect(inDays).toBeLessThanOrEqual(3);
  });

  it("leaves out small remainders, lots expiring later than a week, and credit that never expires", async () => {
    const someone = await person();
    await grantExpiring(someone, expiringReminderMinimumCents - 1, 2);
    await grantExpiring(someone, 400, 10);
    await grantExpiring(someone, 400, null);
    await pass();
    expect(await remindersTo(someone)).toEqual([]);
  });

  it("mails each of several expiring lots once, and a lot granted later on its own pass", async () => {
    const someone = await person();
    await grantExpiring(someone, 150, 1);
    await grantExpiring(someone, 250, 6);
    await pass();
    expect((await remindersTo(someone)).map((mail) => mail.data.amountCents).sort()).toEqual([150, 250]);
    await grantExpiring(someone, 90, 5);
    await pass();
    expect((await remindersTo(someone)).map((mail) => mail.data.amountCents).sort()).toEqual([150, 250, 90]);
  });

  it("mails no one at a deleted account's address, and still counts the lot as done", async () => {
    const someone = await person();
    await grantExpiring(someone, 300, 2);
    unwrap(await test.ledger.closeAccount({ userId: someone.user.id }));
    await pass();
    expect(await remindersTo(someone)).toEqual([]);
    const { rows } = await test.database.pool.query(
      "select count(*)::int as n from alerts.lot_reminders where user_id = $1",
      [someone.user.id],
    );
    expect(rows[0].n).toBe(1);
  });
});
