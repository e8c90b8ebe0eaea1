import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type SignedUp, type TestApp } from "./support/app.js";

let test: TestApp;
let alice: SignedUp;
let bob: SignedUp;

type Page = {
  entries: {
    id: string;
    amountCents: number;
    kind: string;
    description: string;
    createdAt: string;
    lots: unknown[];
  }[];
  nextCursor: string | null;
};

async function page(cookie: string, query = ""): Promise<Page> {
  const response = await test.app.request(`/api/ledger${query}`, { headers: { cookie } });
  expect(response.status).toBe(200);
  return response.json();
}

beforeAll(async () => {
  test = await createTestApp();
  alice = await test.signUp();
  bob = await test.signUp();
  await page(alice.cookie); // opens the account with its signup bonus
  await page(bob.cookie);
  for (let index = 1; index <= 4; index += 1) {
    const granted = await test.ledger.grant({
      userId: alice.user.id,
      amountCents: index * 100,
      kind: "adjustment",
      idempotencyKey: `history-${index}`,
      description: `grant ${index}`,
    });
    expect(granted.error).toBeNull();
  }
});
afterAll(() => test.close());

describe("GET /api/ledger", () => {
  it("lists the person's own entries newest first, in the contract's shape", async () => {
    const { entries, nextCursor } = await page(alice.cookie);
    expect(nextCursor).toBeNull();
    expect(entries.map((entry) => entry.amountCents)).toEqual([400, 300, 200, 100, 50]);
    expect(entries.at(-1)?.kind).toBe("signup_bonus");
    expect(Object.keys(entries[0] ?? {}).sort()).toEqual([
      "amountCents",
      "createdAt",
      "description",
      "id",
      "kind",
      "lots",
    ]);
    expect(entries[0]?.description).toBe("grant 4");
    // Each credit names the lot it made: the welcome credit is promotional and expires.
    expect(entries.at(-1)?.lots).toEqual([
      { lotId: expect.any(String), category: "promo", amountCents: 50, expiresAt: expect.any(String) },
    ]);
  });

  it("pages with limit and cursor without gaps or repeats", async () => {
    const first = await page(alice.cookie, "?limit=2");
    expect(first.entries.map((entry) => entry.amountCents)).toEqual([400, 300]);
    const second = await page(alice.cookie, `?limit=2&cursor=${first.nextCursor}`);
    expect(second.entries.map((entry) => entry.amountCents)).toEqual([200, 100]);
    const third = await page(alice.cookie, `?limit=2&cursor=${second.nextCursor}`);
    expect(third).toMatchObject({ nextCursor: null });
    expect(third.entries.map((entry) => entry.amountCents)).toEqual([50]);
  });

  it("orders by entry number, not as text, once ids pass one digit", async () => {
    for (let index = 5; index <= 14; index += 1) {
      await test.ledger.grant({
        userId: alice.user.id,
        amountCents: 1,
        kind: "adjustment",
        idempotencyKey: `more-${index}`,
      });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const next: Page = await page(alice.cookie, `?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...next.entries.map((entry) => entry.id));
      cursor = next.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(15);
    expect(new Set(seen).size).toBe(15);
    expect(seen.map(Number)).toEqual([...seen.map(Number)].sort((a, b) => b - a));
  });

  it("never shows another person's entries", async () => {
    const { entries } = await page(bob.cookie);
    expect(entries.map((entry) => entry.kind)).toEqual(["signup_bonus"]);
  });

  it.each([
    "?limit=0",
    "?limit=101",
    "?limit=abc",
    "?cursor=abc",
    "?cursor=-1",
    // Nineteen digits, past bigint's largest value: PostgreSQL would refuse it as a 500.
    "?cursor=9999999999999999999",
  ])("refuses %s with a 400 naming the field", async (query) => {
    const response = await test.app.request(`/api/ledger${query}`, { headers: { cookie: alice.cookie } });
    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe("INVALID_REQUEST");
  });

  it("requires a session", async () => {
    const response = await test.app.request("/api/ledger");
    expect(response.status).toBe(401);
    expect((await response.json()).error.code).toBe("UNAUTHENTICATED");
  });
});
