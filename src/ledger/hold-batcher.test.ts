import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.js";
import { findInvariantViolations } from "../../test/support/ledger-invariants.js";
import { createHoldBatcher, createLedger, type HoldBatcher } from "./index.js";
import type { Ledger } from "./types.js";

let database: TestDatabase;
let ledger: Ledger;
let holds: HoldBatcher;
beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 30 });
  ledger = createLedger({ pool: database.pool, holdTtlSeconds: 300 });
  holds = createHoldBatcher({ pool: database.pool, ledger, holdTtlSeconds: 300, maxBatchSize: 64 });
});
afterAll(() => database.drop());

async function account(signupBonusCents: number): Promise<string> {
  const userId = `hold-batch-${randomUUID()}`;
  await ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents });
  return userId;
}

const times = <T>(count: number, make: (index: number) => Promise<T>) =>
  Promise.all(Array.from({ length: count }, (_, index) => make(index)));

describe("createHoldBatcher", () => {
  it("50 concurrent holds of 2 cents on 10: exactly 5 placed, in batches, and their settlements charge each once", async () => {
    const userId = await account(10);
    const before = holds.stats();
    const placed = await times(50, (index) =>
      holds.placeHold({ userId, amountCents: 2, idempotencyKey: `${userId}:${index}` }),
    );
    const held = placed.filter((result) => result.data);
    expect(held).toHaveLength(5);
    expect(placed.filter((result) => result.error?.code === "INSUFFICIENT_CREDITS")).toHaveLength(45);
    expect((await ledger.getBalance(userId)).data).toMatchObject({ balanceCents: 10, heldCents: 10 });
    const afterPlacing = holds.stats();
    expect(afterPlacing.placed.batched - before.placed.batched, "the 5 placed in batches").toBe(5);
    expect(afterPlacing.placed.batches - before.placed.batches).toBeLessThan(5);

    const settled = await times(held.length, (index) =>
      holds.settleHold({ userId, holdId: held[index]?.data?.hold.id ?? "", amountCents: 1 }),
    );
    expect(settled.map((result) => result.data?.hold.status)).toEqual(Array(5).fill("settled"));
    expect(settled.every((result) => result.data?.entry?.amountCents === -1)).toBe(true);
    expect((await ledger.getBalance(userId)).data).toMatchObject({ balanceCents: 5, heldCents: 0 });
    expect(holds.stats().settled.batched - before.settled.batched).toBe(5);
    expect(await findInvariantViolations(database.pool)).toEqual([]);
  });

  it("answers a batch's refusals as the one-call path does, and applies the rest of the batch", async () => {
    const userId = await account(100);
    const open = await ledger.placeHold({ userId, amountCents: 10, idempotencyKey: randomUUID() });
    const done = await ledger.placeHold({ userId, amountCents: 10, idempotencyKey: randomUUID() });
    await ledger.settleHold({ holdId: done.data?.hold.id ?? "", amountCents: 3 });
    const replayedKey = randomUUID();
    await ledger.placeHold({ userId, amountCents: 4, idempotencyKey: replayedKey });

    const [replayed, reused, unknown, tooLarge, bad, fresh] = await Promise.all([
      holds.placeHold({ userId, amountCents: 4, idempotencyKey: replayedKey }),
      holds.placeHold({ userId, amountCents: 5, idempotencyKey: replayedKey }),
      holds.placeHold({ userId: "nobody", amountCents: 1, idempotencyKey: randomUUID() }),
      holds.placeHold({ userId, amountCents: 1_000, idempotencyKey: randomUUID() }),
      holds.placeHold({ userId, amountCents: 0.5, idempotencyKey: randomUUID() }),
      holds.placeHold({ userId, amountCents: 6, idempotencyKey: randomUUID() }),
    ]);
    expect(replayed?.data?.replayed).toBe(true);
    expect(reused?.error?.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(unknown?.error?.code).toBe("ACCOUNT_NOT_FOUND");
    expect(tooLarge?.error?.code).toBe("INSUFFICIENT_CREDITS");
    expect(bad?.error?.code).toBe("INVALID_AMOUNT");
    expect(fresh?.data?.hold.amountCents).toBe(6);

    const holdId = open.data?.hold.id ?? "";
    const [overHeld, already, twice, charged] = await Promise.all([
      holds.settleHold({ userId, holdId, amountCents: 11 }),
      holds.settleHold({ userId, holdId: done.data?.hold.id ?? "", amountCents: 3 }),
      holds.settleHold({ userId, holdId: fresh?.data?.hold.id ?? "", amountCents: 2 }),
      holds.settleHold({ userId, holdId: fresh?.data?.hold.id ?? "", amountCents: 2 }),
    ]);
    // The same refusals as the one-call path gives for the same calls.
    const oneCall = [
      await ledger.settleHold({ holdId, amountCents: 11 }),
      await ledger.settleHold({ holdId: done.data?.hold.id ?? "", amountCents: 3 }),
    ];
    expect(oneCall.map((result) => result.error?.code)).toEqual(["INVALID_AMOUNT", "HOLD_NOT_OPEN"]);
    expect([overHeld?.error?.code, already?.error?.code]).toEqual(["INVALID_AMOUNT", "HOLD_NOT_OPEN"]);
    // The same hold twice at once: one settles it, the other (in the next batch) finds it settled.
    expect([twice, charged].filter((result) => result?.data?.hold.status === "settled")).toHaveLength(1);
    expect([twice, charged].filter((result) => result?.error?.code === "HOLD_NOT_OPEN")).toHaveLength(1);
    const balance = (await ledger.getBalance(userId)).data;
    // 100 − 3 (the earlier settlement) − 2 (this one); held: the open 10 and the replayed key's 4.
    expect(balance).toMatchObject({ balanceCents: 95, heldCents: 14 });
    expect(await findInvariantViolations(database.pool)).toEqual([]);
  });

  it("lets no role but the server's own run the batch functions", async () => {
    const { rows } = await database.pool.query<{ role: string; fn: string; allowed: boolean }>(
      `select role, fn, has_function_privilege(role, fn, 'execute') as allowed
         from unnest(array['anon', 'authenticated', 'service_role']) as role,
              unnest(array['credits.place_holds(text[], bigint[], text[], text[], int[])',
                           'credits.settle_holds(bigint[], bigint[], text[], text[])']) as fn`,
    );
    expect(rows.filter((row) => row.allowed)).toEqual([]);
    expect(rows).toHaveLength(6);
  });

  it("keeps every invariant racing batched holds and settlements with one-call ones on shared accounts", async () => {
    const users = await times(4, () => account(300));
    await times(240, async (index) => {
      const userId = users[index % users.length] as string;
      const batched = index % 3 !== 0;
      const placed = batched
        ? await holds.placeHold({ userId, amountCents: 7, idempotencyKey: randomUUID() })
        : await ledger.placeHold({ userId, amountCents: 7, idempotencyKey: randomUUID() });
      const holdId = placed.data?.hold.id;
      if (!holdId) return;
      if (index % 5 === 0) await ledger.releaseHold({ holdId });
      else if (batched) await holds.settleHold({ userId, holdId, amountCents: index % 8 });
      else await ledger.settleHold({ holdId, amountCents: index % 8 });
    });
    await holds.drain();
    for (const userId of users) {
      const balance = (await ledger.getBalance(userId)).data;
      expect(balance?.heldCents, `${userId} holds nothing afterwards`).toBe(0);
      expect(balance?.balanceCents).toBeGreaterThanOrEqual(0);
    }
    expect(await findInvariantViolations(database.pool)).toEqual([]);
  });
});
