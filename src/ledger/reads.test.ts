import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.js";
import { withUser } from "../db/with-user.js";
import { createLedger } from "./index.js";
import { findBalance, findUserIdByEmail, openHoldTotals, readEntryPage, searchAccounts } from "./reads.js";
import type { Ledger } from "./types.js";

let database: TestDatabase;
let ledger: Ledger;
let alice: { id: string; email: string };
let bob: { id: string; email: string };

async function newPerson(bonusCents: number): Promise<{ id: string; email: string }> {
  const id = `reader-${randomUUID()}`;
  const email = `${id}@example.com`;
  const created = await ledger.ensureAccount({ userId: id, email, signupBonusCents: bonusCents });
  expect(created.error).toBeNull();
  return { id, email };
}

beforeAll(async () => {
  database = await createTestDatabase();
  ledger = createLedger({ pool: database.pool, holdTtlSeconds: 300 });
  alice = await newPerson(100);
  bob = await newPerson(70);
  for (const cents of [1, 2, 3]) {
    const granted = await ledger.grant({
      userId: alice.id,
      amountCents: cents,
      kind: "adjustment",
      idempotencyKey: `reads-${alice.id}-${cents}`,
    });
    expect(granted.error).toBeNull();
  }
});
afterAll(() => database.drop());

describe("reads as the person (withUser, row-level security)", () => {
  it("see their own balance and entries, paged newest first", async () => {
    const pool = database.pool;
    const { balance, first, second } = await withUser(pool, alice, async (client) => {
      const target = { pool, client };
      const first = await readEntryPage(target, { userId: alice.id, limit: 3 });
      const second = await readEntryPage(target, {
        userId: alice.id,
        limit: 3,
        cursor: first.nextCursor ?? undefined,
      });
      return { balance: await findBalance(target, alice.id), first, second };
    });
    expect(balance).toMatchObject({ balanceCents: 106, heldCents: 0, availableCents: 106 });
    expect(first.entries.map((entry) => entry.amountCents)).toEqual([3, 2, 1]);
    expect(second).toMatchObject({ nextCursor: null });
    expect(second.entries.map((entry) => entry.kind)).toEqual(["signup_bonus"]);
  });

  it("see nothing of another person's, even when they ask for it by id", async () => {
    const pool = database.pool;
    const { balance, page } = await withUser(pool, alice, async (client) => ({
      balance: await findBalance({ pool, client }, bob.id),
      page: await readEntryPage({ pool, client }, { userId: bob.id, limit: 10 }),
    }));
    expect(balance).toBeNull();
    expect(page).toEqual({ entries: [], nextCursor: null });
  });
});

describe("reads as the server", () => {
  it("find an account by its email in any letter case, and search with wildcards taken literally", async () => {
    const target = { pool: database.pool };
    expect(await findUserIdByEmail(target, bob.email.toUpperCase())).toBe(bob.id);
    expect(await findUserIdByEmail(target, "nobody@example.com")).toBeNull();
    const found = await searchAccounts(target, bob.email);
    expect(found).toEqual([expect.objectContaining({ userId: bob.id, balanceCents: 70, heldCents: 0 })]);
    expect(await searchAccounts(target, "%")).toEqual([]);
  });

  it("total the open holds", async () => {
    const before = await openHoldTotals({ pool: database.pool });
    const placed = await ledger.placeHold({ userId: bob.id, amountCents: 25, idempotencyKey: randomUUID() });
    expect(placed.error).toBeNull();
    const after = await openHoldTotals({ pool: database.pool });
    expect(after).toEqual({ count: before.count + 1, cents: before.cents + 25 });
  });
});
