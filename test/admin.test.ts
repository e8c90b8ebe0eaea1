import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type SignedUp, type TestApp } from "./support/app.js";
import { findInvariantViolations } from "./support/ledger-invariants.js";

let test: TestApp;
let admin: SignedUp;
let person: SignedUp;

const json = (cookie: string, body: unknown) => ({
  method: "POST",
  headers: { cookie, "content-type": "application/json", origin: "http://localhost:3000" },
  body: JSON.stringify(body),
});

async function balanceOf(cookie: string): Promise<number> {
  const me = await test.app.request("/api/me", { headers: { cookie } });
  return ((await me.json()) as { balanceCents: number }).balanceCents;
}

beforeAll(async () => {
  test = await createTestApp({ ADMIN_EMAILS: "boss@example.com, Pretender@Example.com" });
  // An admin's email must be verified; an operator does that with `npm run cli -- verify-email`.
  admin = await test.signUpVerified("boss@example.com");
  person = await test.signUp("customer@example.com");
  // The first signed-in request opens each credits account with the 50-cent bonus.
  expect(await balanceOf(admin.cookie)).toBe(50);
  expect(await balanceOf(person.cookie)).toBe(50);
});
afterAll(() => test.close());

describe("admin routes", () => {
  it("refuse people who are not admins, and people not signed in", async () => {
    const forbidden = await test.app.request("/api/admin/accounts", { headers: { cookie: person.cookie } });
    expect(forbidden.status).toBe(403);
    expect((await forbidden.json()).error.code).toBe("FORBIDDEN");
    const adjust = await test.app.request(
      `/api/admin/accounts/${person.user.id}/adjustments`,
      json(person.cookie, { amountCents: 1000, reason: "I deserve it", idempotencyKey: "self-grant-1" }),
    );
    expect(adjust.status).toBe(403);
    expect(await balanceOf(person.cookie)).toBe(50);
    expect((await test.app.request("/api/admin/accounts")).status).toBe(401);
  });

  it("find accounts by part of the email, with balances", async () => {
    const response = await test.app.request("/api/admin/accounts?query=CUSTOMER", {
      headers: { cookie: admin.cookie },
    });
    expect(response.status).toBe(200);
    const { accounts } = await response.json();
    expect(accounts).toEqual([
      expect.objectContaining({
        userId: person.user.id,
        email: "customer@example.com",
        balanceCents: 50,
        heldCents: 0,
      }),
    ]);
    const wildcard = await test.app.request("/api/admin/accounts?query=%25", {
      headers: { cookie: admin.cookie },
    });
    expect((await wildcard.json()).accounts).toEqual([]);
  });

  it("add credits with a reason exactly once per idempotency key, visible to the person", async () => {
    const body = { amountCents: 250, reason: "Goodwill for the outage", idempotencyKey: "ticket-1001" };
    const first = await test.app.request(
      `/api/admin/accounts/${person.user.id}/adjustments`,
      json(admin.cookie, body),
    );
    expect(first.status).toBe(201);
    const created = await first.json();
    expect(created.balance.balanceCents).toBe(300);
    expect(created.entry).toMatchObject({ kind: "adjustment", amountCents: 250 });
    expect(created.entry.description).toContain("Goodwill for the outage");

    const repeat = await test.app.request(
      `/api/admin/accounts/${person.user.id}/adjustments`,
      json(admin.cookie, body),
    );
    expect(repeat.status).toBe(200);
    expect((await repeat.json()).replayed).toBe(true);
    expect(await balanceOf(person.cookie)).toBe(300);

    const ledger = await test.app.request("/api/ledger", { headers: { cookie: person.cookie } });
    const { entries } = await ledger.json();
    expect(entries[0]).toMatchObject({ kind: "adjustment", amountCents: 250 });
  });

  it("remove credits, but never below what is available", async () => {
    const remove = await test.app.request(
      `/api/admin/accounts/${person.user.id}/adjustments`,
      json(admin.cookie, { amountCents: -100, reason: "Duplicate goodwill", idempotencyKey: "ticket-1002" }),
    );
    expect(remove.status).toBe(201);
    expect(await balanceOf(person.cookie)).toBe(200);
    const tooMuch = await test.app.request(
      `/api/admin/accounts/${person.user.id}/adjustments`,
      json(admin.cookie, { amountCents: -10_000, reason: "Too much", idempotencyKey: "ticket-1003" }),
    );
    expect(tooMuch.status).toBe(402);
    expect((await tooMuch.json()).error.code).toBe("INSUFFICIENT_CREDITS");
    expect(await balanceOf(person.cookie)).toBe(200);
  });

  it("show an account's ledger page by page", async () => {
    const first = await test.app.request(`/api/admin/accounts/${person.user.id}/entries?limit=2`, {
      headers: { cookie: admin.cookie },
    });
    const page = await first.json();
    expect(page.balanceCents).toBe(200);
    expect(page.entries.map((entry: { kind: string }) => entry.kind)).toEqual(["adjustment", "adjustment"]);
    const second = await test.app.request(
      `/api/admin/accounts/${person.user.id}/entries?limit=2&cursor=${encodeURIComponent(page.nextCursor)}`,
      { headers: { cookie: admin.cookie } },
    );
    expect((await second.json()).entries.map((entry: { kind: string }) => entry.kind)).toEqual([
      "signup_bonus",
    ]);
  });

  it.each([
    [{ amountCents: 0, reason: "nothing", idempotencyKey: "ticket-2001" }, "amountCents"],
    [{ amountCents: 1.5, reason: "fraction", idempotencyKey: "ticket-2002" }, "amountCents"],
    [{ amountCents: "100", reason: "string", idempotencyKey: "ticket-2003" }, "amountCents"],
    [{ amountCents: 100, reason: "", idempotencyKey: "ticket-2004" }, "reason"],
    [{ amountCents: 100, idempotencyKey: "ticket-2005" }, "reason"],
    [{ amountCents: 100, reason: "no key" }, "idempotencyKey"],
    [{ amountCents: 200_000_000, reason: "huge", idempotencyKey: "ticket-2006" }, "amountCents"],
  ])("refuse %o with 400 naming %s, changing nothing", async (body, field) => {
    const response = await test.app.request(
      `/api/admin/accounts/${person.user.id}/adjustments`,
      json(admin.cookie, body),
    );
    expect(response.status).toBe(400);
    const { error } = await response.json();
    expect(error.code).toBe("INVALID_REQUEST");
    expect(error.fields).toContain(field);
    expect(await balanceOf(person.cookie)).toBe(200);
  });

  it("answer 404 for an unknown account and 400 for a body that is not JSON", async () => {
    const unknown = await test.app.request(
      "/api/admin/accounts/no-such-user/adjustments",
      json(admin.cookie, { amountCents: 100, reason: "ghost", idempotencyKey: "ticket-3001" }),
    );
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe("ACCOUNT_NOT_FOUND");
    const broken = await test.app.request(`/api/admin/accounts/${person.user.id}/adjustments`, {
      ...json(admin.cookie, {}),
      body: "{not json",
    });
    expect(broken.status).toBe(400);
    expect((await broken.json()).error.code).toBe("INVALID_JSON");
    expect(await findInvariantViolations(test.database.pool)).toEqual([]);
  });
});

describe("an email in ADMIN_EMAILS that is not verified", () => {
  let pretender: SignedUp;
  const isAdminOf = async (cookie: string) =>
    (
      (await (await test.app.request("/api/me", { headers: { cookie } })).json()) as {
        user: { isAdmin: boolean };
      }
    ).user.isAdmin;
  const adminRequests = (cookie: string) => [
    test.app.request("/api/admin/accounts", { headers: { cookie } }),
    test.app.request(`/api/admin/accounts/${person.user.id}/entries`, { headers: { cookie } }),
    test.app.request(
      `/api/admin/accounts/${pretender.user.id}/adjustments`,
      json(cookie, {
        amountCents: 100_000,
        reason: "Registered the boss's address",
        idempotencyKey: "pretend-1",
      }),
    ),
    test.app.request("/api/admin/payments/cs_sim_anything/refund", json(cookie, {})),
  ];

  beforeAll(async () => {
    // Registered with a password in another letter case than ADMIN_EMAILS lists it: nobody checked
    // that this person owns the address.
    pretender = await test.signUp("PRETENDER@example.COM");
  });

  it("gives no admin rights: every admin route answers 403 and /api/me says isAdmin: false", async () => {
    expect(await isAdminOf(pretender.cookie)).toBe(false);
    const responses = await Promise.all(adminRequests(pretender.cookie));
    expect(responses.map((response) => response.status)).toEqual([403, 403, 403, 403]);
    for (const response of responses) {
      const { error } = await response.json();
      expect(error.code).toBe("FORBIDDEN");
      expect(error.message).toContain("verify-email");
    }
    expect(await balanceOf(pretender.cookie)).toBe(50);
  });

  it("gives admin rights to the same session from its next request once an operator verifies it", async () => {
    await test.verifyEmail("pretender@EXAMPLE.com");
    expect(await isAdminOf(pretender.cookie)).toBe(true);
    const accounts = await test.app.request("/api/admin/accounts", { headers: { cookie: pretender.cookie } });
    expect(accounts.status).toBe(200);
  });
});
