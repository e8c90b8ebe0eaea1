import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.js";
import { findInvariantViolations } from "../../test/support/ledger-invariants.js";
import { createLedger, createSpendBatcher, type SpendBatcher } from "./index.js";
import type { Ledger } from "./types.js";

let database: TestDatabase;
let ledger: Ledger;
let batcher: SpendBatcher;
beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 30 });
  ledger = createLedger({ pool: database.pool, holdTtlSeconds: 300 });
  batcher = createSpendBatcher({ pool: database.pool, ledger, maxBatchSize: 64 });
});
afterAll(() => database.drop());

async function account(signupBonusCents: number): Promise<string> {
  const userId = `batch-${randomUUID()}`;
  await ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents });
  return userId;
}

const times = <T>(count: number, make: (index: number) => Promise<T>) =>
  Promise.all(Array.from({ length: count }, (_, index) => make(index)));

describe("createSpendBatcher", () => {
  it("100 concurrent batched spends of 1 cent on 10: exactly 10, in arrival order", async () => {
    const userId = await account(10);
    const before = batcher.stats();
    const results = await times(100, (index) =>
      batcher.spend({ userId, amountCents: 1, idempotencyKey: `${userId}:${index}` }),
    );
    const applied = results.filter((result) => result.data);
    expect(applied).toHaveLength(10);
    expect(applied.map((result) => result.data?.balance.balanceCents)).toEqual([
      9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
    ]);
    expect(results.filter((result) => result.error?.code === "INSUFFICIENT_CREDITS")).toHaveLength(90);
    expect((await ledger.getBalance(userId)).data?.balanceCents).toBe(0);
    const after = batcher.stats();
    expect(after.batchedSpends - before.batchedSpends, "the 10 applied in batches").toBe(10);
    expect(after.batches - before.batches).toBeLessThan(10);
  });

  it("takes a later small spend when an earlier large one is not covered, as one-by-one would", async () => {
    const userId = await account(10);
    const [large, small] = await Promise.all([
      batcher.spend({ userId, amountCents: 11, idempotencyKey: randomUUID() }),
      batcher.spend({ userId, amountCents: 4, idempotencyKey: randomUUID() }),
    ]);
    expect(large?.error?.code).toBe("INSUFFICIENT_CREDITS");
    expect(small?.data?.balance.balanceCents).toBe(6);
  });

  it("answers replays, reused keys, unknown accounts and bad amounts like Ledger.spend", async () => {
    const userId = await account(100);
    const idempotencyKey = randomUUID();
    const [first, twin] = await Promise.all([
      batcher.spend({ userId, amountCents: 7, idempotencyKey }),
      batcher.spend({ userId, amountCents: 7, idempotencyKey }),
    ]);
    expect([first?.data?.replayed, twin?.data?.replayed].sort()).toEqual([false, true]);
    expect(first?.data?.entry.id).toBe(twin?.data?.entry.id);
    const direct = await ledger.spend({ userId, amountCents: 7, idempotencyKey });
    expect(direct.data?.replayed).toBe(true);
    const [reused, unknown, bad] = await Promise.all([
      batcher.spend({ userId, amountCents: 8, idempotencyKey }),
      batcher.spend({ userId: "nobody", amountCents: 1, idempotencyKey: randomUUID() }),
      batcher.spend({ userId, amountCents: 0.5, idempotencyKey: randomUUID() }),
    ]);
    expect(reused?.error?.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(unknown?.error?.code).toBe("ACCOUNT_NOT_FOUND");
    expect(bad?.error?.code).toBe("INVALID_AMOUNT");
    expect((await ledger.getBalance(userId)).data?.balanceCents).toBe(93);
  });

  it("keeps every invariant racing holds, grants and direct spends on shared accounts", async () => {
    const users = await times(5, () => account(200));
    const results = await times(600, async (index) => {
      const userId = users[index % users.length] as string;
      const idempotencyKey = `mixed:${index}`;
      if (index % 6 === 0) return ledger.placeHold({ userId, amountCents: 9, idempotencyKey });
      if (index % 6 === 1) return ledger.grant({ userId, amountCents: 5, kind: "purchase", idempotencyKey });
      if (index % 6 === 2) return ledger.spend({ userId, amountCents: 3, idempotencyKey });
      return batcher.spend({ userId, amountCents: 2, idempotencyKey });
    });
    await batcher.drain();
    expect(results.filter((result) => result.error && result.error.code !== "INSUFFICIENT_CREDITS")).toEqual(
      [],
    );
    expect(await findInvariantViolations(database.pool)).toEqual([]);
  });
});
