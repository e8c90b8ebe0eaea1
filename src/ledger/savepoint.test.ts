import { randomUUID } from "node:crypto";
import type { PoolClient } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.js";
import { transaction } from "../db/pool.js";
import { createLedger } from "./index.js";
import type { Ledger } from "./types.js";

let database: TestDatabase;
let ledger: Ledger;
beforeAll(async () => {
  database = await createTestDatabase();
  ledger = createLedger({ pool: database.pool, holdTtlSeconds: 300 });
});
afterAll(() => database.drop());

/** The statements a transaction sent, in order. */
function recorded(client: PoolClient): string[] {
  const sent: string[] = [];
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const text = typeof args[0] === "string" ? args[0] : (args[0] as { text: string }).text;
    sent.push(text.trim().split(/\s+/)[0] ?? "");
    return query(...args);
  };
  return sent;
}

describe("ledger operations with savepoint: false", () => {
  it("place, settle and commit with the caller, without a savepoint of their own", async () => {
    const userId = `user-${randomUUID()}`;
    await ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents: 100 });
    const sent = await transaction(database.pool, async (client) => {
      const statements = recorded(client);
      const placed = await ledger.placeHold({
        client,
        savepoint: false,
        userId,
        amountCents: 40,
        idempotencyKey: randomUUID(),
      });
      const holdId = placed.data?.hold.id ?? "";
      const settled = await ledger.settleHold({ client, savepoint: false, holdId, amountCents: 30 });
      expect(settled.data?.balance).toMatchObject({ balanceCents: 70, heldCents: 0 });
      return statements;
    });
    expect(sent.filter((statement) => /savepoint/i.test(statement))).toEqual([]);
    expect((await ledger.getBalance(userId)).data).toMatchObject({ balanceCents: 70, heldCents: 0 });
  });

  it("throw a replayed key's unique violation to the caller, who rolls back whole", async () => {
    const userId = `user-${randomUUID()}`;
    await ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents: 100 });
    const idempotencyKey = randomUUID();
    // An open transaction has placed the key but not committed: the second placer waits on it, then
    // meets the unique violation that a savepoint would have turned into a replay.
    let commitFirst: () => void = () => {};
    const firstPlaced = new Promise<void>((placed) => {
      void transaction(database.pool, async (client) => {
        await ledger.placeHold({ client, userId, amountCents: 10, idempotencyKey });
        placed();
        await new Promise<void>((resolve) => {
          commitFirst = resolve;
        });
      });
    });
    await firstPlaced;
    const second = transaction(database.pool, (client) =>
      ledger.placeHold({ client, savepoint: false, userId, amountCents: 10, idempotencyKey }),
    );
    // Commit the first only once the second is waiting on its row lock: a fixed pause would let a
    // loaded machine commit first, and the second would then replay instead of meeting the violation.
    await expect
      .poll(
        async () =>
          (
            await database.pool.query(
              "select count(*)::int as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
            )
          ).rows[0]?.waiting,
        { timeout: 10_000, interval: 20 },
      )
      .toBeGreaterThan(0);
    commitFirst();
    await expect(second).rejects.toMatchObject({ code: "23505" });
    expect((await ledger.getBalance(userId)).data).toMatchObject({ heldCents: 10 });
  });
});
