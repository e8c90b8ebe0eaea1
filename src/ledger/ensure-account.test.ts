import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.js";
import { createLedger } from "./index.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 30 });
});
afterAll(() => database.drop());

describe("ensureAccount under a race of first requests", () => {
  it("opens the account once and answers every racer without error", async () => {
    const ledger = createLedger({ pool: database.pool, holdTtlSeconds: 300 });
    // The loser of the race may trip the email's unique index before the primary key's; that is
    // the same person, not another account with the email. Many rounds, since the order varies.
    for (let round = 0; round < 20; round += 1) {
      const userId = `racer-${round}`;
      const results = await Promise.all(
        Array.from({ length: 30 }, () =>
          ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents: 50 }),
        ),
      );
      expect(results.filter((result) => result.error !== null)).toEqual([]);
      expect(results.filter((result) => result.data?.created)).toHaveLength(1);
    }
    const bonuses = await database.pool.query(
      "select count(*)::int as n from credits.entries where kind = 'signup_bonus'",
    );
    expect(bonuses.rows[0].n).toBe(20);
  });

  it("still refuses an email that belongs to another person", async () => {
    const ledger = createLedger({ pool: database.pool, holdTtlSeconds: 300 });
    await ledger.ensureAccount({ userId: "first", email: "shared@example.com", signupBonusCents: 50 });
    const second = await ledger.ensureAccount({
      userId: "second",
      email: "shared@example.com",
      signupBonusCents: 50,
    });
    expect(second.error?.code).toBe("INVALID_ARGUMENT");
  });
});
