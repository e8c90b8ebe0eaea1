import { afterAll, beforeAll, expect, it } from "vitest";
import { createLedger, createSpendBatcher, type SpendBatcher } from "../src/ledger/index.js";
import type { Ledger, Result } from "../src/ledger/types.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { findInvariantViolations, findVisibilityViolations } from "./support/ledger-invariants.js";
import { between, pick, runSeed, seededRandom } from "./support/random.js";

// A seeded, randomized history: many connections applying every ledger operation to 50 accounts
// (one hot), repeating keys, retrying after errors and racing on holds, with promotional lots that
// expire during the load and clawbacks of named purchases, while a checker proves the invariants of
// DESIGN.md and of the credit lots (test/support/ledger-invariants.ts) at checkpoints during the load
// and at the end. The operation sequence of
// each worker is reproducible from the printed seed; the interleaving is whatever the server does.
const operationCount = 20_000;
const workerCount = 40;
const accountCount = 50;
const signupBonusCents = 1_000;

let database: TestDatabase;
let ledger: Ledger;
let batcher: SpendBatcher;
beforeAll(async () => {
  database = await createTestDatabase({ poolSize: workerCount + 8 });
  ledger = createLedger({ pool: database.pool, holdTtlSeconds: 300 });
  batcher = createSpendBatcher({ pool: database.pool, ledger });
});
afterAll(() => database.drop());

type Call = {
  operation: "grant" | "spend" | "batchedSpend" | "clawBack" | "placeHold";
  input: Record<string, unknown>;
};

/** Runs a call on the ledger, or on the spend batcher for `batchedSpend`. */
function send(operation: Call["operation"], input: unknown): Promise<Result<unknown>> {
  const run = operation === "batchedSpend" ? batcher.spend : ledger[operation];
  return (run as (input: unknown) => Promise<Result<unknown>>)(input);
}
type Outcome = { call: Call; result: Result<unknown> };

/** What the test knows from the answers alone; the database must agree with it at the end. */
class Model {
  expectedCents = new Map<string, number>();
  idByKey = new Map<string, string>();
  appliedKeys = new Set<string>();
  openHolds: { holdId: string; userId: string; amountCents: number }[] = [];
  resolutions = new Map<string, number>();
  finished: Outcome[] = [];
  nonReplayedEntries = 0;
  violations: string[] = [];

  move(userId: string, cents: number): void {
    this.expectedCents.set(userId, (this.expectedCents.get(userId) ?? 0) + cents);
  }
  resolve(holdId: string): void {
    const count = (this.resolutions.get(holdId) ?? 0) + 1;
    this.resolutions.set(holdId, count);
    if (count > 1) this.violations.push(`invariant 5: hold ${holdId} resolved ${count} times`);
    this.openHolds = this.openHolds.filter((hold) => hold.holdId !== holdId);
  }
}

const users = Array.from({ length: accountCount }, (_, index) => `history-user-${index}`);
const purchases: { userId: string; reference: string }[] = [];
const chooseUser = (random: () => number) => (random() < 0.25 ? (users[0] as string) : pick(random, users));

async function call(model: Model, { operation, input }: Call): Promise<Outcome> {
  const result = (await send(operation, input)) as Result<Record<string, never>>;
  const outcome = { call: { operation, input }, result };
  record(model, outcome);
  return outcome;
}

function record(model: Model, { call: { operation, input }, result }: Outcome): void {
  if (result.error) return;
  const data = result.data as {
    replayed: boolean;
    entry?: { id: string; amountCents: number; userId: string };
    hold?: { id: string; userId: string; amountCents: number };
    balance: { availableCents: number; heldCents: number };
  };
  const key = input.idempotencyKey as string;
  const id = data.entry?.id ?? data.hold?.id ?? "";
  const seen = model.idByKey.get(key);
  if (seen !== undefined && seen !== id)
    model.violations.push(`invariant 3: key ${key} answered ${seen} and ${id}`);
  model.idByKey.set(key, id);
  if (data.replayed) return;
  if (model.appliedKeys.has(key)) model.violations.push(`invariant 3: key ${key} applied twice`);
  model.appliedKeys.add(key);
  if (data.balance.heldCents < 0) model.violations.push(`held below zero after ${operation}`);
  if (operation !== "grant" && operation !== "clawBack" && data.balance.availableCents < 0) {
    model.violations.push(`invariant 2: ${operation} left available ${data.balance.availableCents}`);
  }
  if (data.entry) {
    model.move(data.entry.userId, data.entry.amountCents);
    model.nonReplayedEntries += 1;
  }
  if (data.hold && operation === "placeHold") {
    model.openHolds.push({
      holdId: data.hold.id,
      userId: data.hold.userId,
      amountCents: data.hold.amountCents,
    });
  }
}

function freshCall(random: () => number, worker: number, step: number): Call {
  const userId = chooseUser(random);
  const idempotencyKey = `history:${worker}:${step}`;
  const roll = random();
  if (roll < 0.2) {
    // A purchase names itself, so a later refund can claw back from the lot it made.
    const reference = `purchase:${worker}:${step}`;
    purchases.push({ userId, reference });
    return {
      operation: "grant",
      input: { userId, amountCents: between(random, 1, 400), kind: "purchase", idempotencyKey, reference },
    };
  }
  if (roll < 0.28) {
    // Promotional lots, most expiring within seconds, so the sweeper expires them during the load.
    const expiresAt = random() < 0.7 ? new Date(Date.now() + between(random, 200, 4_000)) : undefined;
    return {
      operation: "grant",
      input: { userId, amountCents: between(random, 1, 300), kind: "promo_code", idempotencyKey, expiresAt },
    };
  }
  if (roll < 0.62) {
    // Half the spends go through the batcher, racing the direct ones on the same accounts.
    const operation = random() < 0.5 ? "spend" : "batchedSpend";
    return { operation, input: { userId, amountCents: between(random, 1, 150), idempotencyKey } };
  }
  if (roll < 0.66) {
    const kind = random() < 0.5 ? "refund" : "dispute";
    const purchase = purchases.length > 0 && random() < 0.7 ? pick(random, purchases) : undefined;
    return {
      operation: "clawBack",
      input: {
        userId: purchase?.userId ?? userId,
        amountCents: between(random, 1, 200),
        kind,
        idempotencyKey,
        reference: purchase?.reference,
      },
    };
  }
  const ttlSeconds = random() < 0.1 ? 1 : 300;
  return {
    operation: "placeHold",
    input: { userId, amountCents: between(random, 1, 200), idempotencyKey, ttlSeconds },
  };
}

async function step(model: Model, random: () => number, worker: number, index: number): Promise<void> {
  const roll = random();
  const previous = model.finished.length > 0 ? pick(random, model.finished) : undefined;
  if (roll < 0.1 && previous) {
    // A retry of an earlier call: after success it must replay; after an error it may now apply.
    await call(model, previous.call);
  } else if (roll < 0.13 && previous && !previous.result.error) {
    const changed = { ...previous.call.input, amountCents: (previous.call.input.amountCents as number) + 1 };
    const result = await send(previous.call.operation, changed);
    if (result.error?.code !== "IDEMPOTENCY_KEY_REUSED")
      model.violations.push(`reused key answered ${JSON.stringify(result)}`);
  } else if (roll < 0.17) {
    // The same call twice at once: at most one applies, both name the same entry or hold.
    const twice = freshCall(random, worker, index);
    await Promise.all([call(model, twice), call(model, twice)]);
  } else if (roll < 0.32 && model.openHolds.length > 0) {
    await resolveHold(model, random);
  } else if (roll < 0.33) {
    await ledger.sweepExpiredHolds({ limit: 50 });
    await ledger.sweepExpiredLots({ limit: 50 });
  } else if (roll < 0.34) {
    const result = await ledger.spend({
      userId: chooseUser(random),
      amountCents: 0,
      idempotencyKey: `bad:${worker}:${index}`,
    });
    if (result.error?.code !== "INVALID_AMOUNT") model.violations.push("a zero spend was not refused");
  } else {
    const outcome = await call(model, freshCall(random, worker, index));
    model.finished.push(outcome);
  }
}

async function resolveHold(model: Model, random: () => number): Promise<void> {
  const hold = pick(random, model.openHolds);
  if (random() < 0.3) {
    const released = await ledger.releaseHold({ holdId: hold.holdId });
    if (!released.error) model.resolve(hold.holdId);
    return;
  }
  const amountCents = random() < 0.05 ? hold.amountCents + 1 : between(random, 0, hold.amountCents);
  const settled = await ledger.settleHold({ holdId: hold.holdId, amountCents });
  if (settled.error) return;
  if (amountCents > hold.amountCents)
    model.violations.push(`settled ${amountCents} on a hold of ${hold.amountCents}`);
  model.resolve(hold.holdId);
  if (settled.data.entry) {
    model.move(hold.userId, settled.data.entry.amountCents);
    model.nonReplayedEntries += 1;
  }
}

it(`keeps every invariant through ${operationCount} random operations on ${workerCount} connections`, async () => {
  const seed = runSeed("ledger history");
  const model = new Model();
  for (const userId of users) {
    await ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents });
    model.move(userId, signupBonusCents);
  }
  let running = true;
  const checkpoints: string[][] = [];
  const checker = (async () => {
    while (running) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const visibleTo = users[checkpoints.length % users.length] as string;
      checkpoints.push([
        ...(await findInvariantViolations(database.pool)),
        ...(await findVisibilityViolations(database.pool, visibleTo)),
      ]);
    }
  })();
  const perWorker = operationCount / workerCount;
  const startedMs = Date.now();
  await Promise.all(
    Array.from({ length: workerCount }, async (_, worker) => {
      const random = seededRandom(seed + worker * 7_919);
      for (let index = 0; index < perWorker; index++) await step(model, random, worker, index);
    }),
  );
  running = false;
  await checker;
  const seconds = (Date.now() - startedMs) / 1_000;
  const stats = await database.pool.query<{ deadlocks: number }>(
    "select deadlocks::int from pg_stat_database where datname = current_database()",
  );
  process.stdout.write(
    `ledger history: ${operationCount} operations in ${seconds.toFixed(1)} s, ${checkpoints.length} checkpoints, ${model.appliedKeys.size} changes applied, ${stats.rows[0]?.deadlocks} deadlocks retried\n`,
  );

  expect(checkpoints.length, "at least one checkpoint ran during the load").toBeGreaterThan(0);
  expect(checkpoints.flat(), `seed ${seed}`).toEqual([]);
  expect(model.violations, `seed ${seed}`).toEqual([]);
  expect(await findInvariantViolations(database.pool), `seed ${seed}`).toEqual([]);
  // The sweeper's expiry entries are the one change no answer reported: read them back.
  const expiries = await database.pool.query<{ user_id: string; total: number; count: number }>(
    "select user_id, sum(amount_cents)::bigint as total, count(*)::int as count from credits.entries where kind = 'expiry' group by user_id",
  );
  const expiredByUser = new Map(expiries.rows.map((row) => [row.user_id, Number(row.total)]));
  const expiryCount = expiries.rows.reduce((sum, row) => sum + row.count, 0);
  expect(expiryCount, "lots expired during the load").toBeGreaterThan(0);
  for (const userId of users) {
    const balance = await ledger.getBalance(userId);
    expect(balance.data?.balanceCents, `${userId}, seed ${seed}`).toBe(
      (model.expectedCents.get(userId) ?? 0) + (expiredByUser.get(userId) ?? 0),
    );
  }
  const { rows } = await database.pool.query<{ count: number }>(
    "select count(*)::int as count from credits.entries",
  );
  expect(rows[0]?.count, "one entry per applied change, none for replays").toBe(
    accountCount + model.nonReplayedEntries + expiryCount,
  );
  // Once the holds on them are gone, every lot past its expiry is swept, each exactly once.
  for (const hold of model.openHolds) await ledger.releaseHold({ holdId: hold.holdId });
  await new Promise((resolve) => setTimeout(resolve, 4_100));
  await ledger.sweepExpiredLots({ limit: 10_000 });
  const unswept = await database.pool.query(
    "select id from credits.lots where expires_at <= now() and remaining_cents > 0 limit 5",
  );
  expect(unswept.rows, "expired lots still holding credit").toEqual([]);
  expect(await findInvariantViolations(database.pool), `seed ${seed}`).toEqual([]);
  expect(await findVisibilityViolations(database.pool, users[1] as string)).toEqual([]);
  // On the shared 2-core development VM it took 35 to 50 s; the margin covers a busier machine.
}, 240_000);
