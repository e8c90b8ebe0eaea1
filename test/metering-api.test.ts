import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServiceKey, revokeServiceKey } from "../src/metering/keys.js";
import { type MeteringServer, startMeteringServer } from "./support/metering.js";

// The metering API over real HTTP: service keys, customers made once under races, holds that never
// overdraw, settle and release once, usage coalesced and exact, idempotent replays.

let metering: MeteringServer;

beforeAll(async () => {
  metering = await startMeteringServer({ NEW_USER_CREDITS_CENTS: "50", METERING_RATE_LIMIT_MAX: "100000" });
});
afterAll(() => metering.close());

const query = async (text: string, values: unknown[] = []) =>
  (await metering.test.database.pool.query(text, values)).rows;

async function newCustomer(prefix = "c"): Promise<{ id: string; email: string; userId: string }> {
  const id = `${prefix}_${randomUUID()}`;
  const email = `${id}@example.com`.toLowerCase();
  const put = await metering.call("PUT", `/v1/customers/${id}`, { body: { email } });
  expect(put.status).toBe(201);
  const [row] = await query("select user_id from metering.customers where id = $1", [id]);
  return { id, email, userId: row.user_id };
}

async function balanceMatchesEntries(userId: string): Promise<void> {
  const [row] = await query(
    `select a.balance_cents::int as balance, (select coalesce(sum(amount_cents), 0)::int from credits.entries e where e.user_id = a.user_id) as total
       from credits.accounts a where a.user_id = $1`,
    [userId],
  );
  expect(row.balance).toBe(row.total);
}

describe("service keys on /v1/*", () => {
  it("refuses a missing, malformed, unknown or revoked key with 401 and changes nothing", async () => {
    const customer = await newCustomer();
    const revoked = await createServiceKey(metering.test.database.pool, { name: "old", production: false });
    await revokeServiceKey(metering.test.database.pool, revoked.key.prefix);
    const unknown = `csk_test_${"A".repeat(43)}`;
    for (const secret of [null, "not-a-key", `csk_test_short`, unknown, revoked.secret]) {
      const answer = await metering.call("POST", "/v1/usage", {
        secret,
        idempotencyKey: randomUUID(),
        body: { customer: customer.id, amountCents: 1, description: "refused" },
      });
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe("INVALID_SERVICE_KEY");
      expect(answer.body.error.message).toContain("Authorization: Bearer csk_");
    }
    const basic = await metering.call("GET", `/v1/customers/${customer.id}`, {
      secret: null,
      headers: { authorization: `Basic ${metering.secret}` },
    });
    expect(basic.status).toBe(401);
    expect((await metering.call("GET", `/v1/customers/${customer.id}`)).body.balanceCents).toBe(50);
    expect(
      await query("select count(*)::int as n from credits.entries where user_id = $1", [customer.userId]),
    ).toEqual([{ n: 1 }]);
  });

  it("needs no session and no Origin: a foreign Origin header does not matter server to server", async () => {
    const customer = await newCustomer();
    const answer = await metering.call("POST", "/v1/usage", {
      idempotencyKey: randomUUID(),
      headers: { origin: "https://elsewhere.example" },
      body: { customer: customer.id, amountCents: 2, description: "from a backend" },
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ chargedCents: 2, balanceCents: 48 });
  });

  it("refuses a body over 32 KiB", async () => {
    const answer = await metering.call("PUT", "/v1/customers/big", {
      body: { email: "big@example.com", name: "x".repeat(40_000) },
    });
    expect(answer.status).toBe(413);
  });
});

describe("customers", () => {
  it("creates once (201), answers the existing one (200), refuses another email (409)", async () => {
    const id = `app-user.1:${randomUUID()}@x`;
    const first = await metering.call("PUT", `/v1/customers/${id}`, {
      body: { email: "Ada.Customer@Example.com" },
    });
    expect(first.status).toBe(201);
    const email = "ada.customer@example.com";
    expect(first.body).toEqual({ id, email, balanceCents: 50, heldCents: 0, availableCents: 50 });
    const again = await metering.call("PUT", `/v1/customers/${id}`, { body: { email } });
    expect(again.status).toBe(200);
    const other = await metering.call("PUT", `/v1/customers/${id}`, {
      body: { email: "someone@example.com" },
    });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe("CUSTOMER_CONFLICT");
    const sameEmail = await metering.call("PUT", `/v1/customers/other-${randomUUID()}`, { body: { email } });
    expect(sameEmail.status).toBe(409);
    expect((await metering.call("GET", `/v1/customers/${id}`)).body).toEqual(first.body);
  });

  it("refuses bad ids and emails, and answers 404 for an unknown customer", async () => {
    expect(
      (await metering.call("PUT", "/v1/customers/has%20space", { body: { email: "a@example.com" } })).status,
    ).toBe(400);
    expect(
      (await metering.call("PUT", `/v1/customers/${"a".repeat(129)}`, { body: { email: "a@example.com" } }))
        .status,
    ).toBe(400);
    expect((await metering.call("PUT", "/v1/customers/ok", { body: { email: "nope" } })).status).toBe(400);
    const missing = await metering.call("GET", "/v1/customers/nobody-here");
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("CUSTOMER_NOT_FOUND");
    expect((await metering.call("GET", "/v1/customers/nobody-here/entries")).status).toBe(404);
  });

  it("makes one customer and one starter grant out of 30 concurrent PUTs", async () => {
    const id = `racer_${randomUUID()}`;
    const email = `${id}@example.com`;
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => metering.call("PUT", `/v1/customers/${id}`, { body: { email } })),
    );
    expect(answers.filter((answer) => answer.status === 201)).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(29);
    const rows = await query("select user_id from metering.customers where id = $1", [id]);
    expect(rows).toHaveLength(1);
    const users = await query(`select id from auth_coinslot."user" where email = $1`, [email]);
    expect(users).toHaveLength(1);
    const grants = await query(
      "select kind, amount_cents::int as cents from credits.entries where user_id = $1",
      [rows[0].user_id],
    );
    expect(grants).toEqual([{ kind: "signup_bonus", cents: 50 }]);
  });

  it("links to an existing Coinslot user by email, sharing the balance without a second bonus", async () => {
    const { user, cookie } = await metering.test.signUp();
    await metering.test.app.request("/api/me", { headers: { cookie } });
    const put = await metering.call("PUT", `/v1/customers/linked-${user.id}`, {
      body: { email: user.email },
    });
    expect(put.status).toBe(201);
    expect(put.body.balanceCents).toBe(50);
    const [row] = await query("select user_id from metering.customers where id = $1", [`linked-${user.id}`]);
    expect(row.user_id).toBe(user.id);
  });

  it("lets a customer sign in to Coinslot's own pages by setting a password through the emailed reset link, seeing the same balance", async () => {
    const customer = await newCustomer("signs_in");
    const usage = await metering.call("POST", "/v1/usage", {
      idempotencyKey: randomUUID(),
      body: { customer: customer.id, amountCents: 7, description: "used in the app" },
    });
    expect(usage.status).toBe(201);
    const site = { "content-type": "application/json", origin: metering.url };
    const post = (path: string, body: unknown) =>
      fetch(`${metering.url}${path}`, { method: "POST", headers: site, body: JSON.stringify(body) });

    // No password yet: sign-in fails like any wrong password, and a reset link sets the first one.
    expect((await post("/api/auth/sign-in/email", { email: customer.email, password: "guess" })).status).toBe(
      401,
    );
    expect(
      (
        await post("/api/auth/request-password-reset", {
          email: customer.email,
          redirectTo: "/reset-password",
        })
      ).status,
    ).toBe(200);
    const [mail] = await query(
      "select data->>'url' as url from mail.outbox where to_address = $1 and kind = 'reset-password'",
      [customer.email],
    );
    const landed = await fetch(mail.url, { redirect: "manual" });
    const token = new URL(landed.headers.get("location") ?? "").searchParams.get("token");
    expect((await post("/api/auth/reset-password", { token, newPassword: "my first password" })).status).toBe(
      200,
    );

    const signedIn = await post("/api/auth/sign-in/email", {
      email: customer.email,
      password: "my first password",
    });
    expect(signedIn.status).toBe(200);
    const cookie = signedIn.headers
      .getSetCookie()
      .map((line) => line.split(";")[0])
      .join("; ");
    const me = await (await fetch(`${metering.url}/api/me`, { headers: { cookie } })).json();
    expect(me.user.id).toBe(customer.userId);
    expect(me.user.emailVerified).toBe(true);
    expect(me.balanceCents).toBe(43);
    expect((await metering.call("GET", `/v1/customers/${customer.id}`)).body.balanceCents).toBe(43);
    // One starter grant, whichever door the person came in by.
    const bonuses = await query(
      "select 1 from credits.entries where user_id = $1 and kind = 'signup_bonus'",
      [customer.userId],
    );
    expect(bonuses).toHaveLength(1);
  });

  it("pages the entries like /api/ledger", async () => {
    const customer = await newCustomer();
    for (let index = 0; index < 3; index++) {
      const usage = await metering.call("POST", "/v1/usage", {
        idempotencyKey: `page-${index}`,
        body: { customer: customer.id, amountCents: 1, description: `call ${index}` },
      });
      expect(usage.status).toBe(201);
    }
    const first = await metering.call("GET", `/v1/customers/${customer.id}/entries?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.entries.map((entry: { description: string }) => entry.description)).toEqual([
      "call 2",
      "call 1",
    ]);
    expect(Object.keys(first.body.entries[0]).sort()).toEqual([
      "amountCents",
      "createdAt",
      "description",
      "id",
      "kind",
      "lots",
    ]);
    const second = await metering.call(
      "GET",
      `/v1/customers/${customer.id}/entries?limit=2&cursor=${first.body.nextCursor}`,
    );
    expect(second.body.entries).toHaveLength(2);
    expect(second.body.nextCursor).toBeNull();
  });
});

describe("holds", () => {
  it("lets exactly 10 of 100 concurrent holds through on a balance that covers 10", async () => {
    const customer = await newCustomer();
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        metering.call("POST", "/v1/holds", {
          idempotencyKey: `hold-${index}`,
          body: { customer: customer.id, amountCents: 5 },
        }),
      ),
    );
    const placed = answers.filter((answer) => answer.status === 201);
    const refused = answers.filter((answer) => answer.status === 402);
    expect(placed).toHaveLength(10);
    expect(refused).toHaveLength(90);
    expect(refused[0]?.body.error).toMatchObject({
      code: "INSUFFICIENT_CREDITS",
      neededCents: 5,
      availableCents: 0,
    });
    expect(placed[0]?.body).toMatchObject({ amountCents: 5 });
    expect(new Date(placed[0]?.body.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const view = await metering.call("GET", `/v1/customers/${customer.id}`);
    expect(view.body).toMatchObject({ balanceCents: 50, heldCents: 50, availableCents: 0 });
  });

  it("needs an Idempotency-Key, replays the same hold, refuses the key with other arguments", async () => {
    const customer = await newCustomer();
    const body = { customer: customer.id, amountCents: 7, description: "one generation" };
    const missing = await metering.call("POST", "/v1/holds", { body });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe("INVALID_IDEMPOTENCY_KEY");
    const first = await metering.call("POST", "/v1/holds", { idempotencyKey: "gen-1", body });
    const replay = await metering.call("POST", "/v1/holds", { idempotencyKey: "gen-1", body });
    expect(first.status).toBe(201);
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(first.body.id);
    const reused = await metering.call("POST", "/v1/holds", {
      idempotencyKey: "gen-1",
      body: { ...body, amountCents: 8 },
    });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect((await metering.call("GET", `/v1/customers/${customer.id}`)).body.heldCents).toBe(7);
  });

  it("settles once under 20 concurrent calls; each answers the first result; a conflicting call is HOLD_NOT_OPEN", async () => {
    const customer = await newCustomer();
    const hold = await metering.call("POST", "/v1/holds", {
      idempotencyKey: "to-settle",
      body: { customer: customer.id, amountCents: 20 },
    });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        metering.call("POST", `/v1/holds/${hold.body.id}/settle`, { body: { amountCents: 12 } }),
      ),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ chargedCents: 12, releasedCents: 8, balanceCents: 38 });
    }
    const usage = await query(
      "select count(*)::int as n from credits.entries where user_id = $1 and kind = 'usage'",
      [customer.userId],
    );
    expect(usage).toEqual([{ n: 1 }]);
    const other = await metering.call("POST", `/v1/holds/${hold.body.id}/settle`, {
      body: { amountCents: 3 },
    });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe("HOLD_NOT_OPEN");
    expect((await metering.call("POST", `/v1/holds/${hold.body.id}/release`)).status).toBe(409);
    await balanceMatchesEntries(customer.userId);
  });

  it("releases once under 20 concurrent calls; a settle afterwards is HOLD_NOT_OPEN", async () => {
    const customer = await newCustomer();
    const hold = await metering.call("POST", "/v1/holds", {
      idempotencyKey: "to-release",
      body: { customer: customer.id, amountCents: 30 },
    });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => metering.call("POST", `/v1/holds/${hold.body.id}/release`)),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ chargedCents: 0, releasedCents: 30, balanceCents: 50 });
    }
    const settle = await metering.call("POST", `/v1/holds/${hold.body.id}/settle`, {
      body: { amountCents: 1 },
    });
    expect(settle.status).toBe(409);
    expect((await metering.call("GET", `/v1/customers/${customer.id}`)).body).toMatchObject({
      heldCents: 0,
      balanceCents: 50,
    });
  });

  it("refuses settling more than was held, and unknown hold ids", async () => {
    const customer = await newCustomer();
    const hold = await metering.call("POST", "/v1/holds", {
      idempotencyKey: "small",
      body: { customer: customer.id, amountCents: 4 },
    });
    expect(
      (await metering.call("POST", `/v1/holds/${hold.body.id}/settle`, { body: { amountCents: 5 } })).status,
    ).toBe(400);
    expect(
      (await metering.call("POST", "/v1/holds/999999999/settle", { body: { amountCents: 1 } })).status,
    ).toBe(404);
    expect((await metering.call("POST", "/v1/holds/abc/release")).status).toBe(404);
  });

  it("never settles or releases a hold of Coinslot's own chat user", async () => {
    const { user, cookie } = await metering.test.signUp();
    await metering.test.app.request("/api/me", { headers: { cookie } });
    const placed = await metering.test.ledger.placeHold({
      userId: user.id,
      amountCents: 10,
      idempotencyKey: `chat:${randomUUID()}`,
    });
    const holdId = placed.data?.hold.id;
    for (const path of [`/v1/holds/${holdId}/settle`, `/v1/holds/${holdId}/release`]) {
      const answer = await metering.call("POST", path, { body: { amountCents: 10 } });
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe("HOLD_NOT_FOUND");
    }
    expect((await metering.test.ledger.getHold(holdId as string)).data?.status).toBe("open");
  });
});

describe("usage", () => {
  it("charges exactly what the balance covers out of 200 concurrent calls, and replays charge once", async () => {
    const customer = await newCustomer();
    const send = (index: number) =>
      metering.call("POST", "/v1/usage", {
        idempotencyKey: `usage-${index}`,
        body: { customer: customer.id, amountCents: 1, description: `call ${index}` },
      });
    const answers = await Promise.all(Array.from({ length: 200 }, (_, index) => send(index)));
    const charged = answers.filter((answer) => answer.status === 201);
    expect(charged).toHaveLength(50);
    expect(answers.filter((answer) => answer.status === 402)).toHaveLength(150);
    expect(new Set(charged.map((answer) => answer.body.entryId)).size).toBe(50);
    // Coalesced: the spend batcher answered charges from shared statements (the registry is per process).
    const metrics = await (await fetch(`${metering.url}/metrics`)).text();
    expect(metrics).toMatch(
      /coinslot_ledger_operations_total\{operation="spend_batched",outcome="ok"\} [1-9]/,
    );
    await balanceMatchesEntries(customer.userId);
    expect((await metering.call("GET", `/v1/customers/${customer.id}`)).body.balanceCents).toBe(0);

    const chargedIndexes = answers.flatMap((answer, index) => (answer.status === 201 ? [index] : []));
    const replays = await Promise.all(chargedIndexes.map((index) => send(index)));
    for (const [position, replay] of replays.entries()) {
      expect(replay.status).toBe(200);
      expect(replay.body.entryId).toBe(charged[position]?.body.entryId);
    }
    const usage = await query(
      "select count(*)::int as n from credits.entries where user_id = $1 and kind = 'usage'",
      [customer.userId],
    );
    expect(usage).toEqual([{ n: 50 }]);
  });

  it("needs an Idempotency-Key and refuses the same key with another amount", async () => {
    const customer = await newCustomer();
    const body = { customer: customer.id, amountCents: 3, description: "image" };
    expect((await metering.call("POST", "/v1/usage", { body })).status).toBe(400);
    expect((await metering.call("POST", "/v1/usage", { idempotencyKey: "u-1", body })).status).toBe(201);
    const reused = await metering.call("POST", "/v1/usage", {
      idempotencyKey: "u-1",
      body: { ...body, amountCents: 4 },
    });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe("IDEMPOTENCY_KEY_REUSED");
    const unknown = await metering.call("POST", "/v1/usage", {
      idempotencyKey: "u-2",
      body: { ...body, customer: "ghost" },
    });
    expect(unknown.status).toBe(404);
  });
});
