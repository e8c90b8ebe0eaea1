import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLedger } from "../src/ledger/index.js";
import type { Ledger } from "../src/ledger/types.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { findInvariantViolations } from "./support/ledger-invariants.js";

// The races the peers lost money on: check-then-act overdrafts, double settles and double credits on
// retry. Each fires many identical requests at once on their own connections.
let database: TestDatabase;
let ledger: Ledger;
beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 100 });
  ledger = createLedger({ pool: database.pool, holdTtlSeconds: 300 });
});
afterAll(() => database.drop());

async function account(signupBonusCents: number): Promise<string> {
  const userId = `race-${randomUUID()}`;
  await ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents });
  return userId;
}

const times = <T>(count: number, make: (index: number) => Promise<T>) =>
  Promise.all(Array.from({ length: count }, (_, index) => make(index)));

describe("races", () => {
  it("100 concurrent spends of 1 cent on a balance of 10: exactly 10 succeed", async () => {
    const userId = await account(10);
    const results = await times(100, (index) =>
      ledger.spend({ userId, amountCents: 1, idempotencyKey: `${userId}:${index}` }),
    );
    expect(results.filter((result) => result.data).length).toBe(10);
    expect(results.filter((result) => result.error?.code === "INSUFFICIENT_CREDITS").length).toBe(90);
    expect((await ledger.getBalance(userId)).data).toMatchObject({ balanceCents: 0, availableCents: 0 });
  });

  it("100 concurrent holds of 1 cent on a balance of 10: exactly 10 are placed", async () => {
    const userId = await account(10);
    const results = await times(100, (index) =>
      ledger.placeHold({ userId, amountCents: 1, idempotencyKey: `${userId}:${index}` }),
    );
    expect(results.filter((result) => result.data).length).toBe(10);
    expect((await ledger.getBalance(userId)).data).toMatchObject({
      balanceCents: 10,
      heldCents: 10,
      availableCents: 0,
    });
  });

  it("50 concurrent settles of one hold: one succeeds, one charge", async () => {
    const userId = await account(100);
    const placed = await ledger.placeHold({ userId, amountCents: 60, idempotencyKey: randomUUID() });
    const holdId = placed.data?.hold.id as string;
    const results = await times(50, (index) => ledger.settleHold({ holdId, amountCents: 10 + (index % 40) }));
    const succeeded = results.filter((result) => result.data);
    expect(succeeded).toHaveLength(1);
    expect(results.filter((result) => result.error?.code === "HOLD_NOT_OPEN")).toHaveLength(49);
    const charged = succeeded[0]?.data?.hold.settledCents as number;
    expect((await ledger.getBalance(userId)).data).toMatchObject({
      balanceCents: 100 - charged,
      heldCents: 0,
    });
  });

  it("settles, releases and sweepers racing on expiring holds resolve each hold once", async () => {
    const userId = await account(1_000);
    const holds = await times(40, (index) =>
      ledger.placeHold({ userId, amountCents: 10, idempotencyKey: `${userId}:${index}`, ttlSeconds: 1 }),
    );
    const ids = holds.map((hold) => hold.data?.hold.id as string);
    await new Promise((resolve) => setTimeout(resolve, 900 + Math.random() * 200));
    const outcomes = await Promise.all([
      ...ids.map((holdId) => ledger.settleHold({ holdId, amountCents: 5 })),
      ...ids.map((holdId) => ledger.releaseHold({ holdId })),
      ...Array.from({ length: 4 }, () => ledger.sweepExpiredHolds({ limit: 10 })),
    ]);
    await ledger.sweepExpiredHolds();
    const resolvedByCalls = outcomes.filter((outcome) => "data" in outcome && outcome.data !== null).length;
    const { rows } = await database.pool.query<{ status: string; count: number }>(
      "select status, count(*)::int as count from credits.holds where user_id = $1 group by status",
      [userId],
    );
    const byStatus = Object.fromEntries(rows.map((row) => [row.status, row.count]));
    expect(byStatus.open).toBeUndefined();
    expect(resolvedByCalls).toBe((byStatus.settled ?? 0) + (byStatus.released ?? 0));
    const settled = byStatus.settled ?? 0;
    expect((await ledger.getBalance(userId)).data).toMatchObject({
      balanceCents: 1_000 - 5 * settled,
      heldCents: 0,
    });
  });

  it("concurrent first grants with one key: one entry", async () => {
    const userId = await account(0);
    const idempotencyKey = randomUUID();
    const results = await times(50, () =>
      ledger.grant({ userId, amountCents: 300, kind: "purchase", idempotencyKey }),
    );
    expect(results.filter((result) => result.data?.replayed === false)).toHaveLength(1);
    expect(results.filter((result) => result.data?.replayed === true)).toHaveLength(49);
    expect(new Set(results.map((result) => result.data?.entry.id)).size).toBe(1);
    expect((await ledger.getBalance(userId)).data?.balanceCents).toBe(300);
  });

  it("concurrent first sign-ins: one account, one signup bonus", async () => {
    const userId = `race-${randomUUID()}`;
    const input = { userId, email: `${userId}@example.com`, signupBonusCents: 50 };
    const results = await times(30, () => ledger.ensureAccount(input));
    expect(results.filter((result) => result.data?.created)).toHaveLength(1);
    const page = await ledger.listEntries({ userId });
    expect(page.data?.entries).toHaveLength(1);
  });

  it("leaves every invariant intact", async () => {
    expect(await findInvariantViolations(database.pool)).toEqual([]);
  });
});
