import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, readMigrations } from "../src/db/migrate.js";
import { createLedger } from "../src/ledger/index.js";
import type { Ledger } from "../src/ledger/types.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { findInvariantViolations } from "./support/ledger-invariants.js";

// Credit lots (issue #17): the order credit is spent and reserved in, expiry, clawbacks from the
// purchase's own lot, debts paid by the next credit, and monthly spend limits, each against a real
// PostgreSQL; the randomized history (ledger-history.test.ts) races all of it.

let database: TestDatabase;
let ledger: Ledger;
beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 40 });
  ledger = createLedger({ pool: database.pool, holdTtlSeconds: 300, lotDays: { promoCreditDays: 90 } });
});
afterAll(() => database.drop());

const day = 86_400_000;
const key = () => randomUUID();
const inDays = (days: number) => new Date(Date.now() + days * day);

async function newAccount(signupBonusCents = 0): Promise<string> {
  const userId = `lots-${randomUUID()}`;
  const opened = await ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents });
  expect(opened.error).toBeNull();
  return userId;
}

type LotRow = {
  id: string;
  category: string;
  amount_cents: number;
  remaining_cents: number;
  held_cents: number;
};

async function lotsOf(userId: string): Promise<LotRow[]> {
  const { rows } = await database.pool.query<LotRow>(
    `select id::text, category, amount_cents::int, remaining_cents::int, held_cents::int
       from credits.lots where user_id = $1 order by id`,
    [userId],
  );
  return rows;
}

async function grant(
  userId: string,
  amountCents: number,
  options: {
    kind?: "purchase" | "promo_code" | "adjustment";
    expiresAt?: Date | null;
    reference?: string;
  } = {},
) {
  const granted = await ledger.grant({
    userId,
    amountCents,
    kind: options.kind ?? "purchase",
    idempotencyKey: key(),
    reference: options.reference,
    expiresAt: options.expiresAt,
  });
  expect(granted.error).toBeNull();
  return granted.data;
}

/** Makes a lot already past its expiry, as if its time had come while it sat unspent. */
async function backdate(userId: string, amountCents: number): Promise<string> {
  const granted = await grant(userId, amountCents, {
    kind: "promo_code",
    expiresAt: new Date(Date.now() - 1_000),
  });
  const lot = (await lotsOf(userId)).at(-1);
  expect(lot?.amount_cents).toBe(amountCents);
  expect(granted?.entry.amountCents).toBe(amountCents);
  return lot?.id as string;
}

describe("lots", () => {
  it("gives each kind its category and lifetime: the signup bonus promo for PROMO_CREDIT_DAYS, purchases paid forever", async () => {
    const userId = await newAccount(50);
    await grant(userId, 300);
    const { rows } = await database.pool.query<{ category: string; expires_at: Date | null; kind: string }>(
      `select l.category, l.expires_at, e.kind from credits.lots l join credits.entries e on e.id = l.entry_id
        where l.user_id = $1 order by l.id`,
      [userId],
    );
    expect(rows.map((row) => [row.kind, row.category])).toEqual([
      ["signup_bonus", "promo"],
      ["purchase", "paid"],
    ]);
    const bonusExpiry = rows[0]?.expires_at?.getTime() ?? 0;
    expect(Math.abs(bonusExpiry - inDays(90).getTime())).toBeLessThan(60_000);
    expect(rows[1]?.expires_at).toBeNull();

    const paidExpiring = createLedger({
      pool: database.pool,
      holdTtlSeconds: 300,
      lotDays: { promoCreditDays: 30, paidCreditDays: 365 },
    });
    const bought = await paidExpiring.grant({
      userId,
      amountCents: 10,
      kind: "purchase",
      idempotencyKey: key(),
    });
    const { rows: paid } = await database.pool.query<{ expires_at: Date }>(
      "select expires_at from credits.lots where entry_id = $1",
      [bought.data?.entry.id],
    );
    expect(Math.abs((paid[0]?.expires_at.getTime() ?? 0) - inDays(365).getTime())).toBeLessThan(60_000);
  });

  it("spends soonest-expiring first, promo before paid at the same expiry, then oldest, and the history names the lots", async () => {
    const userId = await newAccount();
    const sameDay = inDays(10);
    await grant(userId, 100); // paid, never expires: spent last
    await grant(userId, 100, { kind: "adjustment", expiresAt: sameDay }); // paid, day 10
    await grant(userId, 100, { kind: "promo_code", expiresAt: sameDay }); // promo, day 10: before the paid one
    await grant(userId, 100, { kind: "promo_code", expiresAt: inDays(3) }); // soonest: first
    const [never, paidDay10, promoDay10, soonest] = await lotsOf(userId);

    const spent = await ledger.spend({ userId, amountCents: 250, idempotencyKey: key() });
    expect(spent.error).toBeNull();
    const after = await lotsOf(userId);
    expect(after.map((lot) => lot.remaining_cents)).toEqual([100, 50, 0, 0]);

    const page = await ledger.listEntries({ userId, limit: 1 });
    const drawn = page.data?.entries[0]?.lots ?? [];
    expect(drawn.map((lot) => [lot.lotId, lot.amountCents])).toEqual([
      [paidDay10?.id, 50],
      [promoDay10?.id, 100],
      [soonest?.id, 100],
    ]);
    expect(never?.remaining_cents).toBe(100);
    expect(await findInvariantViolations(database.pool)).toEqual([]);
  });

  it("reserves a hold from lots in the same order and charges its settlement to what it reserved", async () => {
    const userId = await newAccount();
    await grant(userId, 100);
    await grant(userId, 60, { kind: "promo_code", expiresAt: inDays(5) });
    const placed = await ledger.placeHold({ userId, amountCents: 80, idempotencyKey: key() });
    expect(placed.error).toBeNull();
    expect((await lotsOf(userId)).map((lot) => lot.held_cents)).toEqual([20, 60]);

    // A spend meanwhile can take only what the hold left free: the paid lot's other 80.
    expect((await ledger.spend({ userId, amountCents: 81, idempotencyKey: key() })).error?.code).toBe(
      "INSUFFICIENT_CREDITS",
    );
    const settled = await ledger.settleHold({ holdId: placed.data?.hold.id as string, amountCents: 70 });
    expect(settled.error).toBeNull();
    const lots = await lotsOf(userId);
    expect(lots.map((lot) => [lot.remaining_cents, lot.held_cents])).toEqual([
      [90, 0],
      [0, 0],
    ]);
    expect(settled.data?.balance.balanceCents).toBe(90);
    expect(await findInvariantViolations(database.pool)).toEqual([]);
  });
});

describe("expiry", () => {
  it("never spends an expired lot, and the sweeper removes exactly what is left of it, once", async () => {
    const userId = await newAccount();
    await grant(userId, 40);
    const expiredLot = await backdate(userId, 25);
    const summary = await ledger.getCreditSummary(userId);
    expect(summary.data).toMatchObject({ balanceCents: 65, availableCents: 40 });

    const refused = await ledger.spend({ userId, amountCents: 41, idempotencyKey: key() });
    expect(refused.error).toMatchObject({ code: "INSUFFICIENT_CREDITS", availableCents: 40 });
    expect((await ledger.placeHold({ userId, amountCents: 41, idempotencyKey: key() })).error?.code).toBe(
      "INSUFFICIENT_CREDITS",
    );

    const sweeps = await Promise.all([1, 2, 3].map(() => ledger.sweepExpiredLots()));
    expect(sweeps.reduce((sum, sweep) => sum + sweep.expired, 0)).toBeGreaterThanOrEqual(1);
    const { rows } = await database.pool.query<{ amount_cents: number; reference: string }>(
      "select amount_cents::int, reference from credits.entries where user_id = $1 and kind = 'expiry'",
      [userId],
    );
    expect(rows).toEqual([{ amount_cents: -25, reference: `lot:${expiredLot}` }]);
    expect((await ledger.getBalance(userId)).data).toMatchObject({ balanceCents: 40, availableCents: 40 });
    await ledger.sweepExpiredLots();
    expect((await ledger.getBalance(userId)).data?.balanceCents).toBe(40);
    expect(await findInvariantViolations(database.pool)).toEqual([]);
  });

  it("waits for a hold on an expiring lot: the hold's charge comes from it, the rest expires after", async () => {
    const userId = await newAccount();
    await grant(userId, 50, { kind: "promo_code", expiresAt: new Date(Date.now() + 1_500) });
    const placed = await ledger.placeHold({ userId, amountCents: 30, idempotencyKey: key() });
    expect(placed.error).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    await ledger.sweepExpiredLots();
    // The hold still reserves 30 of it: nothing expires yet, and nothing else may spend the other 20.
    expect((await lotsOf(userId))[0]).toMatchObject({ remaining_cents: 50, held_cents: 30 });
    expect((await ledger.spend({ userId, amountCents: 1, idempotencyKey: key() })).error?.code).toBe(
      "INSUFFICIENT_CREDITS",
    );
    const settled = await ledger.settleHold({ holdId: placed.data?.hold.id as string, amountCents: 12 });
    expect(settled.error).toBeNull();
    expect((await ledger.sweepExpiredLots()).expired).toBe(1);
    expect((await ledger.getBalance(userId)).data?.balanceCents).toBe(0);
    const { rows } = await database.pool.query<{ kind: string; amount_cents: number }>(
      "select kind, amount_cents::int from credits.entries where user_id = $1 order by id",
      [userId],
    );
    expect(rows).toEqual([
      { kind: "promo_code", amount_cents: 50 },
      { kind: "usage", amount_cents: -12 },
      { kind: "expiry", amount_cents: -38 },
    ]);
    expect(await findInvariantViolations(database.pool)).toEqual([]);
  });

  it("a spend that waited for a sweep of the same account is decided on what the sweep left", async () => {
    const userId = await newAccount();
    await grant(userId, 600);
    await backdate(userId, 500);
    const sweep = await database.pool.connect();
    try {
      await sweep.query("begin");
      await sweep.query("select credits.expire_lots(100)");
      // The sweep holds the account; this spend waits for it, then must see 600 spendable, not 100.
      const spending = ledger.spend({ userId, amountCents: 200, idempotencyKey: key() });
      const holding = ledger.placeHold({ userId, amountCents: 300, idempotencyKey: key() });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await sweep.query("commit");
      expect((await spending).error).toBeNull();
      expect((await holding).error).toBeNull();
    } finally {
      sweep.release();
    }
    expect((await ledger.getBalance(userId)).data).toMatchObject({ balanceCents: 400, heldCents: 300 });
    expect(await findInvariantViolations(database.pool)).toEqual([]);
  });

  it("shows the credit that expires next and when", async () => {
    const userId = await newAccount();
    await grant(userId, 500);
    const soon = inDays(2);
    await grant(userId, 30, { kind: "promo_code", expiresAt: soon });
    await grant(userId, 20, { kind: "promo_code", expiresAt: soon });
    await grant(userId, 70, { kind: "promo_code", expiresAt: inDays(20) });
    const summary = await ledger.getCreditSummary(userId);
    expect(summary.data?.nextExpiry).toEqual({ amountCents: 50, expiresAt: soon });
    expect((await ledger.getCreditSummary(await newAccount())).data?.nextExpiry).toBeNull();
  });
});

describe("clawbacks", () => {
  it("takes a refund from its purchase's lot first, then in the draw order, and owes the rest until the next credit pays it", async () => {
    const userId = await newAccount();
    await grant(userId, 100, { kind: "promo_code", expiresAt: inDays(30) });
    await grant(userId, 200, { reference: "cs_refunded" });
    await grant(userId, 50, { reference: "cs_other" });
    // Spent first from the promo lot (soonest expiring), then 20 of the refunded purchase's lot.
    expect((await ledger.spend({ userId, amountCents: 120, idempotencyKey: key() })).error).toBeNull();
    expect((await lotsOf(userId)).map((lot) => lot.remaining_cents)).toEqual([0, 180, 50]);

    const refund = await ledger.clawBack({
      userId,
      amountCents: 150,
      kind: "refund",
      idempotencyKey: key(),
      reference: "cs_refunded",
    });
    expect(refund.error).toBeNull();
    expect((await lotsOf(userId)).map((lot) => lot.remaining_cents)).toEqual([0, 30, 50]);

    // A dispute of the whole purchase: its lot's 30, then the other lot's 50, then 120 owed.
    const dispute = await ledger.clawBack({
      userId,
      amountCents: 200,
      kind: "dispute",
      idempotencyKey: key(),
      reference: "cs_refunded",
    });
    expect(dispute.data?.balance.balanceCents).toBe(-120);
    const lots = await lotsOf(userId);
    expect(lots.map((lot) => lot.remaining_cents)).toEqual([0, 0, 0, -120]);
    expect((await ledger.spend({ userId, amountCents: 1, idempotencyKey: key() })).error?.code).toBe(
      "INSUFFICIENT_CREDITS",
    );

    // The next purchase pays the debt first; what is left of it is spendable.
    await grant(userId, 300);
    const paid = await lotsOf(userId);
    expect(paid.map((lot) => lot.remaining_cents)).toEqual([0, 0, 0, 0, 180]);
    expect((await ledger.getBalance(userId)).data?.balanceCents).toBe(180);
    expect(await findInvariantViolations(database.pool)).toEqual([]);
  });

  it("takes a refund's share of credit a hold had reserved once the hold lets go, so that credit cannot expire as well", async () => {
    const userId = await newAccount();
    await grant(userId, 1_000, { reference: "cs_held", expiresAt: new Date(Date.now() + 1_500) });
    const held = await ledger.placeHold({ userId, amountCents: 1_000, idempotencyKey: key() });
    expect(held.error).toBeNull();
    // The refund cannot take reserved credit: for now it is owed.
    await ledger.clawBack({
      userId,
      amountCents: 1_000,
      kind: "refund",
      idempotencyKey: key(),
      reference: "cs_held",
    });
    expect((await lotsOf(userId)).map((lot) => lot.remaining_cents)).toEqual([1_000, -1_000]);
    // Released, the credit pays that debt at once; its expiry then has nothing left to remove.
    await ledger.releaseHold({ holdId: held.data?.hold.id as string });
    expect((await lotsOf(userId)).map((lot) => lot.remaining_cents)).toEqual([0, 0]);
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    await ledger.sweepExpiredLots();
    expect((await ledger.getBalance(userId)).data?.balanceCents).toBe(0);
    expect(await findInvariantViolations(database.pool)).toEqual([]);
  });
});

describe("spend limits", () => {
  it("refuses usage past the monthly limit, counting what was charged this month and what is held", async () => {
    const userId = await newAccount();
    await grant(userId, 10_000);
    expect((await ledger.spend({ userId, amountCents: 300, idempotencyKey: key() })).error).toBeNull();
    const set = await ledger.setSpendLimit({ userId, monthlyLimitCents: 500 });
    expect(set.data).toEqual({ spendLimitCents: 500, monthUsageCents: 300 });

    const held = await ledger.placeHold({ userId, amountCents: 150, idempotencyKey: key() });
    expect(held.error).toBeNull();
    const refused = await ledger.spend({ userId, amountCents: 51, idempotencyKey: key() });
    expect(refused.error).toMatchObject({ code: "SPEND_LIMIT_REACHED", availableCents: 50 });
    expect(refused.error?.message).toMatch(/monthly spend limit of 500 cents has 50 left/);
    expect((await ledger.placeHold({ userId, amountCents: 51, idempotencyKey: key() })).error?.code).toBe(
      "SPEND_LIMIT_REACHED",
    );
    // An admin's negative adjustment is not usage: the limit does not apply to it.
    const adjusted = await ledger.spend({
      userId,
      amountCents: 400,
      kind: "adjustment",
      idempotencyKey: key(),
    });
    expect(adjusted.error).toBeNull();

    // Settling counts what it charged; what the hold released is room again.
    await ledger.settleHold({ holdId: held.data?.hold.id as string, amountCents: 100 });
    expect((await ledger.getCreditSummary(userId)).data).toMatchObject({
      spendLimitCents: 500,
      monthUsageCents: 400,
    });
    expect((await ledger.spend({ userId, amountCents: 100, idempotencyKey: key() })).error).toBeNull();
    expect((await ledger.spend({ userId, amountCents: 1, idempotencyKey: key() })).error?.code).toBe(
      "SPEND_LIMIT_REACHED",
    );

    expect(
      (await ledger.setSpendLimit({ userId, monthlyLimitCents: null })).data?.spendLimitCents,
    ).toBeNull();
    expect((await ledger.spend({ userId, amountCents: 1, idempotencyKey: key() })).error).toBeNull();
    expect((await ledger.setSpendLimit({ userId, monthlyLimitCents: -1 })).error?.code).toBe(
      "INVALID_AMOUNT",
    );
    expect((await ledger.setSpendLimit({ userId: "nobody", monthlyLimitCents: 5 })).error?.code).toBe(
      "ACCOUNT_NOT_FOUND",
    );
  });

  it("holds exactly under a race: 40 concurrent holds and spends of 10 against a limit of 100", async () => {
    const userId = await newAccount();
    await grant(userId, 10_000);
    await ledger.setSpendLimit({ userId, monthlyLimitCents: 100 });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        index % 2 === 0
          ? ledger.placeHold({ userId, amountCents: 10, idempotencyKey: key() })
          : ledger.spend({ userId, amountCents: 10, idempotencyKey: key() }),
      ),
    );
    expect(results.filter((result) => result.error === null)).toHaveLength(10);
    expect(results.filter((result) => result.error?.code === "SPEND_LIMIT_REACHED")).toHaveLength(30);
    const summary = (await ledger.getCreditSummary(userId)).data;
    expect((summary?.monthUsageCents ?? 0) + (summary?.heldCents ?? 0)).toBe(100);
    const { rows } = await database.pool.query<{ month_usage_cents: number }>(
      "select month_usage_cents::int from credits.accounts where user_id = $1",
      [userId],
    );
    expect(rows[0]?.month_usage_cents).toBe(summary?.monthUsageCents);
  });
});

describe("migration 0013", () => {
  it("turns the balances of a database from before lots into opening lots, and a hold placed then still settles", async () => {
    const old = await createTestDatabase({ migrated: false });
    try {
      const migrations = await readMigrations();
      const before = migrations.filter((migration) => migration.name < "0013");
      expect((await migrate(old.pool, before)).error).toBeUndefined();
      const oldLedger = createLedger({ pool: old.pool, holdTtlSeconds: 300 });
      // Under the old schema: a rich account with an open hold, and one a refund took below zero.
      await old.pool.query(`
        insert into credits.accounts (user_id, email, balance_cents) values ('rich', 'rich@example.com', 500), ('owing', 'owing@example.com', -70);
        insert into credits.entries (user_id, amount_cents, kind, idempotency_key) values
          ('rich', 500, 'purchase', 'old-purchase'), ('owing', 30, 'purchase', 'old-owing'), ('owing', -100, 'refund', 'old-refund');
        insert into credits.holds (user_id, amount_cents, idempotency_key, expires_at) values ('rich', 200, 'old-hold', now() + interval '5 minutes');
        update credits.accounts set held_cents = 200 where user_id = 'rich';`);
      expect((await migrate(old.pool)).error).toBeUndefined();
      expect(await findInvariantViolations(old.pool)).toEqual(
        // The hold placed before lots reserved none; every other check holds.
        [expect.stringMatching(/every open hold reserved its whole amount/)],
      );
      const { rows } = await old.pool.query<{ user_id: string; category: string; remaining_cents: number }>(
        "select user_id, category, remaining_cents::int from credits.lots order by user_id",
      );
      expect(rows).toEqual([
        { user_id: "owing", category: "paid", remaining_cents: -70 },
        { user_id: "rich", category: "paid", remaining_cents: 500 },
      ]);
      // The other 300 may be spent, not the 200 the old hold keeps; the hold then settles from the lot.
      const upgraded = createLedger({ pool: old.pool, holdTtlSeconds: 300 });
      expect(
        (await upgraded.spend({ userId: "rich", amountCents: 301, idempotencyKey: key() })).error?.code,
      ).toBe("INSUFFICIENT_CREDITS");
      expect(
        (await upgraded.spend({ userId: "rich", amountCents: 300, idempotencyKey: key() })).error,
      ).toBeNull();
      const { rows: holds } = await old.pool.query<{ id: string }>("select id::text from credits.holds");
      const settled = await oldLedger.settleHold({ holdId: holds[0]?.id as string, amountCents: 150 });
      expect(settled.data?.balance).toMatchObject({ balanceCents: 50, heldCents: 0 });
      // A purchase pays the old debt first.
      await upgraded.grant({ userId: "owing", amountCents: 100, kind: "purchase", idempotencyKey: key() });
      expect((await upgraded.getBalance("owing")).data?.balanceCents).toBe(30);
      expect(await findInvariantViolations(old.pool)).toEqual([]);
    } finally {
      await old.drop();
    }
  });
});
