import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.js";
import { type PoolClient, transaction } from "../db/pool.js";
import { holdPlacedByThisTransaction, holdResolvedAs } from "./hold-protocol.js";
import { createLedger } from "./index.js";
import type { DependentWrite, Ledger } from "./types.js";

let database: TestDatabase;
let ledger: Ledger;
beforeAll(async () => {
  database = await createTestDatabase();
  ledger = createLedger({ pool: database.pool, holdTtlSeconds: 300 });
  await database.pool.query("create table protocol_notes (id text primary key)");
});
afterAll(() => database.drop());

// Stand-ins for another module's writes, guarded as the protocol asks.
const afterPlace = { name: "note_after_place", text: noteWhere(holdPlacedByThisTransaction("$2")) };
const afterResolve = { name: "note_after_resolve", text: noteWhere(holdResolvedAs("$2", "$3")) };

function noteWhere(guard: string): string {
  return `insert into protocol_notes (id) select $1 where ${guard}`;
}

const noteOnHold = (holdKey: string, id = randomUUID()): DependentWrite => ({
  ...afterPlace,
  values: [id, holdKey],
});
const noteOnResolved = (holdId: string, status: "settled" | "released"): DependentWrite => ({
  ...afterResolve,
  values: [randomUUID(), holdId, status],
});

async function newUser(balanceCents = 100): Promise<string> {
  const userId = `user-${randomUUID()}`;
  await ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents: balanceCents });
  return userId;
}

/** Runs `work` on a transaction's client, naming each statement it sends, in the order sent. */
function recording<T>(
  work: (client: PoolClient, sent: string[]) => Promise<T>,
  options: { commitWithWork?: boolean } = {},
): Promise<T> {
  return transaction(
    database.pool,
    (client) => {
      const sent: string[] = [];
      const query = client.query;
      const send = query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: unknown }).query = (...args: unknown[]) => {
        const config = args[0] as string | { name?: string; text: string };
        const text = typeof config === "string" ? config : (config.name ?? config.text);
        sent.push(text.trim().split(/\s+/)[0] ?? "");
        return send(...args);
      };
      return work(client, sent).finally(() => {
        client.query = query;
      });
    },
    options,
  );
}

async function notes(): Promise<number> {
  const { rows } = await database.pool.query<{ count: number }>(
    "select count(*)::int as count from protocol_notes",
  );
  return rows[0]?.count ?? 0;
}

describe("the hold protocol's ordering rule", () => {
  it("sends the hold's statement, then each write, before anything is awaited, with no savepoint", async () => {
    const userId = await newUser();
    const holdKey = randomUUID();
    const holdId = await recording(async (client, sent) => {
      const placing = ledger.placeHoldThen({
        client,
        userId,
        amountCents: 40,
        idempotencyKey: holdKey,
        writes: [noteOnHold(holdKey), noteOnHold(holdKey)],
      });
      // Checked before the first await: all of it is on its way, in this order.
      expect(sent).toEqual(["ledger_place_hold", "note_after_place", "note_after_place"]);
      const placed = await placing;
      expect(placed.rowCounts).toEqual([1, 1]);
      return placed.result.data?.hold.id ?? "";
    });
    await recording(async (client, sent) => {
      const settling = ledger.settleHoldThen({
        client,
        holdId,
        amountCents: 30,
        writes: [noteOnResolved(holdId, "settled")],
      });
      expect(sent).toEqual(["ledger_settle_hold", "note_after_resolve"]);
      expect((await settling).rowCounts).toEqual([1]);
      expect(sent.filter((statement) => /savepoint/i.test(statement))).toEqual([]);
    });
    const releasedId = (await ledger.placeHold({ userId, amountCents: 5, idempotencyKey: randomUUID() })).data
      ?.hold.id as string;
    await recording(async (client, sent) => {
      const releasing = ledger.releaseHoldThen({
        client,
        holdId: releasedId,
        writes: [noteOnResolved(releasedId, "released")],
      });
      expect(sent).toEqual(["ledger_release_hold", "note_after_resolve"]);
      expect((await releasing).rowCounts).toEqual([1]);
    });
    expect((await ledger.getBalance(userId)).data).toMatchObject({ balanceCents: 70, heldCents: 0 });
  });

  it("commits in one round trip with COMMIT behind it: a refused hold commits none of its writes", async () => {
    const userId = await newUser(30);
    const before = await notes();
    const refused = await recording(
      (client) =>
        ledger.placeHoldThen({
          client,
          userId,
          amountCents: 31,
          idempotencyKey: randomUUID(),
          writes: [noteOnHold(randomUUID())],
        }),
      { commitWithWork: true },
    );
    expect(refused.result.error?.code).toBe("INSUFFICIENT_CREDITS");
    expect(refused.rowCounts).toEqual([0]);
    const holdKey = randomUUID();
    const placed = await recording(
      (client) =>
        ledger.placeHoldThen({
          client,
          userId,
          amountCents: 30,
          idempotencyKey: holdKey,
          writes: [noteOnHold(holdKey)],
        }),
      { commitWithWork: true },
    );
    expect(placed.rowCounts).toEqual([1]);
    expect(await notes()).toBe(before + 1);
    expect((await ledger.getBalance(userId)).data).toMatchObject({ heldCents: 30 });
  });

  it("sends nothing, not even the writes, for input the ledger refuses", async () => {
    const userId = await newUser();
    await recording(async (client, sent) => {
      const placed = await ledger.placeHoldThen({
        client,
        userId,
        amountCents: 0,
        idempotencyKey: randomUUID(),
        writes: [noteOnHold(randomUUID())],
      });
      expect(placed).toMatchObject({ result: { error: { code: "INVALID_AMOUNT" } }, rowCounts: [0] });
      expect(sent).toEqual([]);
    });
  });

  it("throws a write's unique violation, ahead of the failures behind it, and commits nothing", async () => {
    const userId = await newUser();
    const holdKey = randomUUID();
    const id = randomUUID();
    const placing = transaction(database.pool, (client) =>
      ledger.placeHoldThen({
        client,
        userId,
        amountCents: 10,
        idempotencyKey: holdKey,
        writes: [noteOnHold(holdKey, id), noteOnHold(holdKey, id), noteOnHold(holdKey)],
      }),
    );
    await expect(placing).rejects.toMatchObject({ code: "23505" });
    expect((await ledger.getBalance(userId)).data).toMatchObject({ heldCents: 0 });
  });
});

describe("holdPlacedByThisTransaction", () => {
  it("does not know a hold placed by an earlier transaction: a replay writes nothing", async () => {
    const userId = await newUser();
    const holdKey = randomUUID();
    await ledger.placeHold({ userId, amountCents: 10, idempotencyKey: holdKey });
    const replayed = await transaction(database.pool, (client) =>
      ledger.placeHoldThen({
        client,
        userId,
        amountCents: 10,
        idempotencyKey: holdKey,
        writes: [noteOnHold(holdKey)],
      }),
    );
    expect(replayed.result.data?.replayed).toBe(true);
    expect(replayed.rowCounts).toEqual([0]);
  });

  it("does not know a hold placed under a savepoint, which is why the protocol uses none", async () => {
    const userId = await newUser();
    const holdKey = randomUUID();
    const written = await transaction(database.pool, async (client) => {
      await ledger.placeHold({ client, userId, amountCents: 10, idempotencyKey: holdKey });
      return (await client.query(noteOnHold(holdKey))).rowCount;
    });
    expect(written).toBe(0);
  });

  it("accepts only a parameter, never SQL", () => {
    expect(() => holdPlacedByThisTransaction("$1 or true")).toThrow("is not a parameter");
    expect(() => holdResolvedAs("$1", "'settled'")).toThrow("is not a parameter");
  });
});

describe("holdResolvedAs and getHold", () => {
  it("write nothing when the ledger refused to resolve the hold, and report how it resolved", async () => {
    const userId = await newUser();
    const holdId = (await ledger.placeHold({ userId, amountCents: 20, idempotencyKey: randomUUID() })).data
      ?.hold.id as string;
    await ledger.releaseHold({ holdId });
    const refused = await transaction(database.pool, (client) =>
      ledger.settleHoldThen({ client, holdId, amountCents: 5, writes: [noteOnResolved(holdId, "settled")] }),
    );
    expect(refused).toMatchObject({ result: { error: { code: "HOLD_NOT_OPEN" } }, rowCounts: [0] });
    expect((await ledger.getHold(holdId)).data).toMatchObject({ status: "released", settledCents: null });
    expect((await ledger.getHold("999999999")).error?.code).toBe("HOLD_NOT_FOUND");
    expect((await ledger.getHold("x")).error?.code).toBe("INVALID_ARGUMENT");
  });
});
