import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { transaction } from "../src/db/pool.js";
import { createLedger } from "../src/ledger/index.js";
import type { Change, Ledger, Result } from "../src/ledger/types.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { findInvariantViolations } from "./support/ledger-invariants.js";
import { between, pick, runSeed, seededRandom } from "./support/random.js";

// Backends killed with pg_terminate_backend while the ledger is under load, inside single
// statements and between the statements of callers' transactions. Every call is retried with its
// own key until it answers; afterwards nothing may be half-written and every cent must be explained.
const workerCount = 16;
const callsPerWorker = 60;
const userIds = Array.from({ length: 8 }, (_, index) => `fault-user-${index}`);

let database: TestDatabase;
let ledger: Ledger;
beforeAll(async () => {
  database = await createTestDatabase({ poolSize: workerCount + 4 });
  ledger = createLedger({ pool: database.pool, holdTtlSeconds: 300 });
});
afterAll(() => database.drop());

// Kills are bounded and spaced so that every call eventually gets through even on a slow machine:
// the test is about where kills land (inside statements and transactions), not about starving calls.
const maxKills = 200;
const killIntervalMs = 15;
const maxAttempts = 200;

/** Retries `work` until it answers, as a client would after a dropped connection. */
async function untilAnswered<T>(work: () => Promise<T>, failures: { count: number }): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      return await work();
    } catch (error) {
      lastError = error;
      failures.count += 1;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
  throw new Error(`no answer after ${maxAttempts} attempts; the last error: ${String(lastError)}`);
}

/** A purchase and a spend in the caller's transaction, with a pause between them for the killer. */
async function pairInTransaction(userId: string, key: string): Promise<Result<Change>[]> {
  return transaction(database.pool, async (client) => {
    const granted = await ledger.grant({
      userId,
      amountCents: 40,
      kind: "purchase",
      idempotencyKey: `${key}:grant`,
      client,
    });
    await client.query("select pg_sleep(0.002)");
    const spent = await ledger.spend({ userId, amountCents: 25, idempotencyKey: `${key}:spend`, client });
    return [granted, spent];
  });
}

async function killer(stop: () => boolean): Promise<number> {
  const client = new pg.Client({ connectionString: database.url });
  client.on("error", () => undefined);
  await client.connect();
  let killed = 0;
  try {
    while (!stop() && killed < maxKills) {
      const { rows } = await client.query<{ killed: boolean }>(
        `select pg_terminate_backend(pid) as killed from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'
          order by random() limit 1`,
      );
      killed += rows.filter((row) => row.killed).length;
      await new Promise((resolve) => setTimeout(resolve, killIntervalMs));
    }
  } finally {
    await client.end();
  }
  return killed;
}

it("a backend killed mid-transaction during load leaves no partial write", async () => {
  const seed = runSeed("ledger faults");
  for (const userId of userIds) {
    await ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents: 500 });
  }
  const expectedCents = new Map(userIds.map((userId) => [userId, 500]));
  const appliedKeys = new Set<string>();
  const failures = { count: 0 };
  const apply = (userId: string, result: Result<Change>) => {
    if (result.error || appliedKeys.has(result.data.entry.idempotencyKey)) return;
    appliedKeys.add(result.data.entry.idempotencyKey);
    expectedCents.set(userId, (expectedCents.get(userId) ?? 0) + result.data.entry.amountCents);
  };

  let done = false;
  const killing = killer(() => done);
  await Promise.all(
    Array.from({ length: workerCount }, async (_, worker) => {
      const random = seededRandom(seed + worker);
      for (let index = 0; index < callsPerWorker; index++) {
        const userId = pick(random, userIds);
        const key = `fault:${worker}:${index}`;
        const roll = random();
        if (roll < 0.4) {
          const results = await untilAnswered(() => pairInTransaction(userId, key), failures);
          for (const result of results) apply(userId, result);
        } else if (roll < 0.7) {
          const amountCents = between(random, 1, 60);
          apply(
            userId,
            await untilAnswered(() => ledger.spend({ userId, amountCents, idempotencyKey: key }), failures),
          );
        } else {
          const amountCents = between(random, 1, 60);
          const placed = await untilAnswered(
            () => ledger.placeHold({ userId, amountCents, idempotencyKey: key }),
            failures,
          );
          if (placed.error) continue;
          const holdId = placed.data.hold.id;
          await untilAnswered(() => ledger.releaseHold({ holdId }), failures);
        }
      }
    }),
  );
  done = true;
  const killed = await killing;
  process.stdout.write(
    `ledger faults: ${killed} backends killed, ${failures.count} calls failed and were retried\n`,
  );

  expect(killed).toBeGreaterThan(0);
  expect(failures.count).toBeGreaterThan(0);
  expect(await findInvariantViolations(database.pool), `seed ${seed}`).toEqual([]);
  for (const userId of userIds) {
    expect((await ledger.getBalance(userId)).data, `seed ${seed}`).toMatchObject({
      balanceCents: expectedCents.get(userId),
      heldCents: 0,
    });
  }
  const { rows } = await database.pool.query<{ count: number }>(
    "select count(*)::int as count from credits.entries",
  );
  expect(rows[0]?.count).toBe(userIds.length + appliedKeys.size);
});
