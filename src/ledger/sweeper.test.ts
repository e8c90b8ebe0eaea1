import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.js";
import { createLogger } from "../logger.js";
import { createLedger, startHoldSweeper } from "./index.js";
import type { Ledger } from "./types.js";

let database: TestDatabase;
let ledger: Ledger;
beforeAll(async () => {
  database = await createTestDatabase();
  ledger = createLedger({ pool: database.pool, holdTtlSeconds: 1 });
});
afterAll(() => database.drop());

it("frees the credit of expired holds on its own, from two processes at once, until stopped", async () => {
  await ledger.ensureAccount({ userId: "sweep-user", email: "sweep@example.com", signupBonusCents: 100 });
  for (let index = 0; index < 20; index++) {
    await ledger.placeHold({ userId: "sweep-user", amountCents: 5, idempotencyKey: `sweep:${index}` });
  }
  expect((await ledger.getBalance("sweep-user")).data?.availableCents).toBe(0);
  const logger = createLogger("silent");
  const sweepers = [1, 2].map(() => startHoldSweeper({ ledger, logger, intervalMs: 50 }));
  const deadlineMs = Date.now() + 10_000;
  while ((await ledger.getBalance("sweep-user")).data?.heldCents !== 0 && Date.now() < deadlineMs) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await Promise.all(sweepers.map((sweeper) => sweeper.stop()));
  expect((await ledger.getBalance("sweep-user")).data).toMatchObject({ balanceCents: 100, heldCents: 0 });
  const { rows } = await database.pool.query<{ status: string; count: number }>(
    "select status, count(*)::int as count from credits.holds group by status",
  );
  expect(rows).toEqual([{ status: "expired", count: 20 }]);
});
