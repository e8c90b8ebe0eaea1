import { randomUUID } from "node:crypto";
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

async function newAccount(signupBonusCents = 100): Promise<string> {
  const userId = `user-${randomUUID()}`;
  const result = await ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents });
  expect(result.error).toBeNull();
  return userId;
}

const key = () => randomUUID();

async function entriesTotal(userId: string): Promise<number> {
  const { rows } = await database.pool.query<{ total: number }>(
    "select coalesce(sum(amount_cents), 0)::bigint as total from credits.entries where user_id = $1",
    [userId],
  );
  return rows[0]?.total ?? Number.NaN;
}

describe("ensureAccount", () => {
  it("creates the account with one signup bonus entry, once", async () => {
    const userId = `user-${randomUUID()}`;
    const input = { userId, email: `${userId}@example.com`, signupBonusCents: 50 };
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => ledger.ensureAccount(input)));
    expect(results.filter((result) => result.data?.created)).toHaveLength(1);
    expect(results.every((result) => result.data?.account.balanceCents === 50)).toBe(true);
    const page = await ledger.listEntries({ userId });
    expect(page.data?.entries.map((entry) => [entry.kind, entry.amountCents])).toEqual([
      ["signup_bonus", 50],
    ]);
  });

  it("refuses an email that belongs to another account", async () => {
    const userId = await newAccount();
    const result = await ledger.ensureAccount({
      userId: "someone-else",
      email: `${userId}@example.com`,
      signupBonusCents: 1,
    });
    expect(result.error?.code).toBe("INVALID_ARGUMENT");
  });
});

describe("grant, spend and clawBack", () => {
  it("moves credit and keeps the balance equal to the sum of entries", async () => {
    const userId = await newAccount(100);
    const granted = await ledger.grant({ userId, amountCents: 300, kind: "purchase", idempotencyKey: key() });
    expect(granted.data?.balance).toEqual({ userId, balanceCents: 400, heldCents: 0, availableCents: 400 });
    const spent = await ledger.spend({
      userId,
      amountCents: 150,
      idempotencyKey: key(),
      description: "chat",
    });
    expect(spent.data?.entry).toMatchObject({ amountCents: -150, kind: "usage", description: "chat" });
    expect(spent.data?.balance.balanceCents).toBe(250);
    expect(await entriesTotal(userId)).toBe(250);
  });

  it("replays the same key and refuses the same key with different arguments", async () => {
    const userId = await newAccount(100);
    const idempotencyKey = key();
    const first = await ledger.spend({ userId, amountCents: 30, idempotencyKey });
    const again = await ledger.spend({ userId, amountCents: 30, idempotencyKey });
    expect(again.data?.replayed).toBe(true);
    expect(again.data?.entry.id).toBe(first.data?.entry.id);
    expect(again.data?.balance.balanceCents).toBe(70);
    const other = await ledger.spend({ userId, amountCents: 31, idempotencyKey });
    expect(other.error?.code).toBe("IDEMPOTENCY_KEY_REUSED");
    const asGrant = await ledger.grant({ userId, amountCents: 30, kind: "purchase", idempotencyKey });
    expect(asGrant.error?.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(await entriesTotal(userId)).toBe(70);
  });

  it("replays a successful spend even after the credit is gone", async () => {
    const userId = await newAccount(10);
    const idempotencyKey = key();
    await ledger.spend({ userId, amountCents: 10, idempotencyKey });
    const again = await ledger.spend({ userId, amountCents: 10, idempotencyKey });
    expect(again.data?.replayed).toBe(true);
  });

  it("refuses an uncovered spend with the needed and available cents", async () => {
    const userId = await newAccount(10);
    const result = await ledger.spend({ userId, amountCents: 11, idempotencyKey: key() });
    expect(result.error).toMatchObject({ code: "INSUFFICIENT_CREDITS", neededCents: 11, availableCents: 10 });
    expect(await entriesTotal(userId)).toBe(10);
  });

  it("refuses an unknown account", async () => {
    const result = await ledger.grant({
      userId: "nobody",
      amountCents: 1,
      kind: "purchase",
      idempotencyKey: key(),
    });
    expect(result.error?.code).toBe("ACCOUNT_NOT_FOUND");
    expect((await ledger.getBalance("nobody")).error?.code).toBe("ACCOUNT_NOT_FOUND");
  });

  it("refuses amounts that are not whole cents from 1 to 100,000,000", async () => {
    const userId = await newAccount();
    for (const amountCents of [0, -1, 1.5, Number.NaN, 100_000_001, Number.POSITIVE_INFINITY, "5"]) {
      const result = await ledger.spend({
        userId,
        amountCents: amountCents as number,
        idempotencyKey: key(),
      });
      expect(result.error?.code, String(amountCents)).toBe("INVALID_AMOUNT");
    }
    const tooLong = await ledger.grant({
      userId,
      amountCents: 1,
      kind: "purchase",
      idempotencyKey: "k".repeat(256),
    });
    expect(tooLong.error?.code).toBe("INVALID_ARGUMENT");
    const badKind = await ledger.grant({
      userId,
      amountCents: 1,
      kind: "usage" as "purchase",
      idempotencyKey: key(),
    });
    expect(badKind.error?.code).toBe("INVALID_ARGUMENT");
    expect(await entriesTotal(userId)).toBe(100);
  });

  it("lets only a claw back take the balance below zero, then refuses spending", async () => {
    const userId = await newAccount(100);
    const clawed = await ledger.clawBack({ userId, amountCents: 150, kind: "refund", idempotencyKey: key() });
    expect(clawed.data?.balance.balanceCents).toBe(-50);
    const spend = await ledger.spend({ userId, amountCents: 1, idempotencyKey: key() });
    expect(spend.error?.code).toBe("INSUFFICIENT_CREDITS");
    const hold = await ledger.placeHold({ userId, amountCents: 1, idempotencyKey: key() });
    expect(hold.error?.code).toBe("INSUFFICIENT_CREDITS");
    await ledger.grant({ userId, amountCents: 60, kind: "purchase", idempotencyKey: key() });
    expect(
      (await ledger.spend({ userId, amountCents: 10, idempotencyKey: key() })).data?.balance.balanceCents,
    ).toBe(0);
  });
});

describe("holds", () => {
  it("reserves credit, settles part of it and frees the rest", async () => {
    const userId = await newAccount(100);
    const placed = await ledger.placeHold({ userId, amountCents: 80, idempotencyKey: key() });
    expect(placed.data?.balance).toMatchObject({ balanceCents: 100, heldCents: 80, availableCents: 20 });
    expect((await ledger.spend({ userId, amountCents: 21, idempotencyKey: key() })).error?.code).toBe(
      "INSUFFICIENT_CREDITS",
    );
    const holdId = placed.data?.hold.id as string;
    const settled = await ledger.settleHold({ holdId, amountCents: 30 });
    expect(settled.data?.hold).toMatchObject({ status: "settled", settledCents: 30 });
    expect(settled.data?.entry).toMatchObject({ amountCents: -30, kind: "usage" });
    expect(settled.data?.balance).toMatchObject({ balanceCents: 70, heldCents: 0, availableCents: 70 });
    expect((await ledger.settleHold({ holdId, amountCents: 30 })).error?.code).toBe("HOLD_NOT_OPEN");
    expect((await ledger.releaseHold({ holdId })).error?.code).toBe("HOLD_NOT_OPEN");
    expect(await entriesTotal(userId)).toBe(70);
  });

  it("settles zero without an entry, and never more than was held", async () => {
    const userId = await newAccount(100);
    const holdId = (await ledger.placeHold({ userId, amountCents: 40, idempotencyKey: key() })).data?.hold
      .id as string;
    expect((await ledger.settleHold({ holdId, amountCents: 41 })).error?.code).toBe("INVALID_AMOUNT");
    const settled = await ledger.settleHold({ holdId, amountCents: 0 });
    expect(settled.data?.entry).toBeNull();
    expect(settled.data?.balance).toMatchObject({ balanceCents: 100, heldCents: 0 });
  });

  it("releases once, and replays a placed hold by key", async () => {
    const userId = await newAccount(100);
    const idempotencyKey = key();
    const placed = await ledger.placeHold({ userId, amountCents: 25, idempotencyKey });
    const again = await ledger.placeHold({ userId, amountCents: 25, idempotencyKey });
    expect(again.data).toMatchObject({ replayed: true, hold: { id: placed.data?.hold.id } });
    expect((await ledger.placeHold({ userId, amountCents: 26, idempotencyKey })).error?.code).toBe(
      "IDEMPOTENCY_KEY_REUSED",
    );
    const released = await ledger.releaseHold({ holdId: placed.data?.hold.id as string });
    expect(released.data?.balance).toMatchObject({ balanceCents: 100, heldCents: 0 });
    expect((await ledger.releaseHold({ holdId: placed.data?.hold.id as string })).error?.code).toBe(
      "HOLD_NOT_OPEN",
    );
    expect((await ledger.releaseHold({ holdId: "999999999" })).error?.code).toBe("HOLD_NOT_FOUND");
    expect((await ledger.releaseHold({ holdId: "x" })).error?.code).toBe("INVALID_ARGUMENT");
  });

  it("expires: the sweeper frees the credit and settling is refused", async () => {
    const userId = await newAccount(100);
    const first = await ledger.placeHold({ userId, amountCents: 30, idempotencyKey: key(), ttlSeconds: 1 });
    const second = await ledger.placeHold({ userId, amountCents: 20, idempotencyKey: key(), ttlSeconds: 1 });
    // The database refuses to rewrite expires_at (a hold's terms are fixed), so let the second pass.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const settle = await ledger.settleHold({ holdId: first.data?.hold.id as string, amountCents: 5 });
    expect(settle.error?.code).toBe("HOLD_NOT_OPEN");
    expect((await ledger.getBalance(userId)).data?.heldCents).toBe(20);
    const swept = await ledger.sweepExpiredHolds();
    expect(swept.expired).toBeGreaterThanOrEqual(1);
    expect((await ledger.getBalance(userId)).data).toMatchObject({ balanceCents: 100, heldCents: 0 });
    expect((await ledger.releaseHold({ holdId: second.data?.hold.id as string })).error?.code).toBe(
      "HOLD_NOT_OPEN",
    );
  });

  it("lets the database refuse a second resolution even outside the ledger", async () => {
    const userId = await newAccount(100);
    const holdId = (await ledger.placeHold({ userId, amountCents: 10, idempotencyKey: key() })).data?.hold.id;
    await ledger.releaseHold({ holdId: holdId as string });
    await expect(
      database.pool.query("update credits.holds set status = 'open', resolved_at = null where id = $1", [
        holdId,
      ]),
    ).rejects.toThrow(/resolves exactly once/);
  });
});

describe("inside the caller's transaction", () => {
  it("commits and rolls back with the caller, and survives a replay inside it", async () => {
    const userId = await newAccount(100);
    const idempotencyKey = key();
    await ledger.grant({ userId, amountCents: 5, kind: "purchase", idempotencyKey });
    await transaction(database.pool, async (client) => {
      const replayed = await ledger.grant({
        userId,
        amountCents: 5,
        kind: "purchase",
        idempotencyKey,
        client,
      });
      expect(replayed.data?.replayed).toBe(true);
      const fresh = await ledger.grant({
        userId,
        amountCents: 7,
        kind: "purchase",
        idempotencyKey: key(),
        client,
      });
      expect(fresh.data?.balance.balanceCents).toBe(112);
    });
    expect((await ledger.getBalance(userId)).data?.balanceCents).toBe(112);
    await expect(
      transaction(database.pool, async (client) => {
        await ledger.grant({ userId, amountCents: 9, kind: "purchase", idempotencyKey: key(), client });
        throw new Error("the caller failed after the grant");
      }),
    ).rejects.toThrow();
    expect((await ledger.getBalance(userId)).data?.balanceCents).toBe(112);
    expect(await entriesTotal(userId)).toBe(112);
  });
});

describe("holds inside the caller's transaction", () => {
  it("settles with the caller's commit, stays open on its rollback, and refuses a second settle without breaking it", async () => {
    const userId = await newAccount(100);
    const holdId = (await ledger.placeHold({ userId, amountCents: 50, idempotencyKey: key() })).data?.hold
      .id as string;
    await expect(
      transaction(database.pool, async (client) => {
        expect((await ledger.settleHold({ holdId, amountCents: 20, client })).error).toBeNull();
        throw new Error("saving the answer failed");
      }),
    ).rejects.toThrow();
    expect((await ledger.getBalance(userId)).data).toMatchObject({ balanceCents: 100, heldCents: 50 });
    await transaction(database.pool, async (client) => {
      expect((await ledger.settleHold({ holdId, amountCents: 20, client })).data?.balance.balanceCents).toBe(
        80,
      );
      const again = await ledger.settleHold({ holdId, amountCents: 20, client });
      expect(again.error?.code).toBe("HOLD_NOT_OPEN");
      await client.query("select 1");
    });
    expect((await ledger.getBalance(userId)).data).toMatchObject({ balanceCents: 80, heldCents: 0 });
    expect(await entriesTotal(userId)).toBe(80);
  });
});

describe("listEntries", () => {
  it("pages newest first with a cursor and bounded limits", async () => {
    const userId = await newAccount(1);
    for (let index = 1; index <= 5; index++) {
      await ledger.grant({ userId, amountCents: index * 10, kind: "purchase", idempotencyKey: key() });
    }
    const first = await ledger.listEntries({ userId, limit: 4 });
    expect(first.data?.entries.map((entry) => entry.amountCents)).toEqual([50, 40, 30, 20]);
    const second = await ledger.listEntries({ userId, limit: 4, cursor: first.data?.nextCursor as string });
    expect(second.data?.entries.map((entry) => entry.amountCents)).toEqual([10, 1]);
    expect(second.data?.nextCursor).toBeNull();
    expect((await ledger.listEntries({ userId, limit: 101 })).error?.code).toBe("INVALID_ARGUMENT");
    expect((await ledger.listEntries({ userId, cursor: "abc" })).error?.code).toBe("INVALID_ARGUMENT");
  });
});
