import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redeemCode } from "../src/promo/redeem.js";
import { createTestApp, type SignedUp, type TestApp } from "./support/app.js";
import { findInvariantViolations } from "./support/ledger-invariants.js";

// Promo codes over real HTTP and a real PostgreSQL: admins make them, people redeem them once, and
// concurrent redemptions never pass a code's maximum.

let test: TestApp;
let admin: SignedUp;

const origin = "http://localhost:3000";
const send = (cookie: string, method: string, body?: unknown) => ({
  method,
  headers: { cookie, "content-type": "application/json", origin },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});

async function call(cookie: string, method: string, path: string, body?: unknown) {
  const response = await test.app.request(path, send(cookie, method, body));
  return { status: response.status, body: await response.json(), headers: response.headers };
}

async function person(): Promise<SignedUp> {
  const signedUp = await test.signUp();
  // The first signed-in request opens the credits account (50 cents of starter credit).
  await test.app.request("/api/me", { headers: { cookie: signedUp.cookie } });
  return signedUp;
}

async function balanceOf(cookie: string): Promise<number> {
  return (await call(cookie, "GET", "/api/me")).body.balanceCents;
}

let codeCount = 0;
async function createCode(fields: Record<string, unknown> = {}) {
  const code = `TEST-${++codeCount}-${Date.now().toString(36)}`;
  const created = await call(admin.cookie, "POST", "/api/admin/promo-codes", {
    code,
    amountCents: 200,
    ...fields,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.code as { id: string; code: string };
}

const redeem = (who: SignedUp, code: string) => call(who.cookie, "POST", "/api/promo-codes/redeem", { code });

beforeAll(async () => {
  test = await createTestApp({ ADMIN_EMAILS: "promo-boss@example.com", PROMO_CREDIT_DAYS: "30" });
  admin = await test.signUpVerified("promo-boss@example.com");
});
afterAll(() => test?.close());

describe("promo codes for admins", () => {
  it("are listed, made and disabled by admins only (403 for anyone else, 401 signed out)", async () => {
    const someone = await person();
    expect((await call(someone.cookie, "GET", "/api/admin/promo-codes")).status).toBe(403);
    const made = await call(someone.cookie, "POST", "/api/admin/promo-codes", {
      code: "FREE-MONEY",
      amountCents: 9,
    });
    expect(made.status).toBe(403);
    expect(made.body.error.code).toBe("FORBIDDEN");
    const code = await createCode();
    expect((await call(someone.cookie, "POST", `/api/admin/promo-codes/${code.id}/disable`)).status).toBe(
      403,
    );
    expect((await test.app.request("/api/admin/promo-codes")).status).toBe(401);
    const { rows } = await test.database.pool.query(
      "select count(*)::int as n from promo.codes where code = 'FREE-MONEY'",
    );
    expect(rows[0].n).toBe(0);
  });

  it("refuses malformed codes, amounts and dates, and a code that exists in another case", async () => {
    const bad = [
      { code: "no spaces", amountCents: 100 },
      { code: "AB", amountCents: 100 },
      { code: "GOOD-ONE", amountCents: 0 },
      { code: "GOOD-ONE", amountCents: 100_001 },
      { code: "GOOD-ONE", amountCents: 1.5 },
      { code: "GOOD-ONE", amountCents: 100, expiresAt: "2020-01-01T00:00:00Z" },
      { code: "GOOD-ONE", amountCents: 100, expiresAt: "tomorrow" },
      { code: "GOOD-ONE", amountCents: 100, maxRedemptions: 0 },
      { code: "GOOD-ONE", amountCents: 100, creditDays: 0 },
    ];
    for (const body of bad) {
      const answer = await call(admin.cookie, "POST", "/api/admin/promo-codes", body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe("INVALID_REQUEST");
    }
    const made = await call(admin.cookie, "POST", "/api/admin/promo-codes", {
      code: "Spring-Sale",
      amountCents: 100,
    });
    expect(made.status).toBe(201);
    expect(made.body.code.code).toBe("SPRING-SALE");
    const again = await call(admin.cookie, "POST", "/api/admin/promo-codes", {
      code: "spring-sale",
      amountCents: 300,
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("PROMO_CODE_EXISTS");
  });

  it("lists codes with their redemption counts, and a disabled code is refused", async () => {
    const code = await createCode({ maxRedemptions: 5 });
    const first = await person();
    expect((await redeem(first, code.code)).status).toBe(201);
    const listed = await call(admin.cookie, "GET", "/api/admin/promo-codes");
    expect(listed.status).toBe(200);
    expect(listed.body.codes.find((found: { id: string }) => found.id === code.id)).toMatchObject({
      code: code.code,
      amountCents: 200,
      maxRedemptions: 5,
      redemptions: 1,
      disabledAt: null,
    });
    const disabled = await call(admin.cookie, "POST", `/api/admin/promo-codes/${code.id}/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.body.code.disabledAt).not.toBeNull();
    const second = await person();
    const refused = await redeem(second, code.code);
    expect(refused.status).toBe(410);
    expect(refused.body.error.code).toBe("PROMO_CODE_DISABLED");
    expect(await balanceOf(second.cookie)).toBe(50);
    expect((await call(admin.cookie, "POST", "/api/admin/promo-codes/999999999/disable")).status).toBe(404);
  });
});

describe("redeeming a promo code", () => {
  it("grants the code's credit as a promotional lot, in any letter case, once per account", async () => {
    const code = await createCode({ creditDays: 10 });
    const someone = await person();
    const redeemed = await redeem(someone, `  ${code.code.toLowerCase()} `);
    expect(redeemed.status, JSON.stringify(redeemed.body)).toBe(201);
    expect(redeemed.body.redemption).toMatchObject({ code: code.code, amountCents: 200, balanceCents: 250 });
    expect(await balanceOf(someone.cookie)).toBe(250);
    const { rows: lots } = await test.database.pool.query(
      `select l.category, l.amount_cents::int as amount, e.kind, e.idempotency_key,
              extract(epoch from l.expires_at - now()) / 86400 as days
         from credits.lots l join credits.entries e on e.id = l.entry_id
        where l.user_id = $1 and e.kind = 'promo_code'`,
      [someone.user.id],
    );
    expect(lots).toHaveLength(1);
    expect(lots[0]).toMatchObject({ category: "promo", amount: 200, kind: "promo_code" });
    expect(lots[0].idempotency_key).toBe(`promo:${code.id}:${someone.user.id}`);
    expect(Number(lots[0].days)).toBeGreaterThan(9.9);
    expect(Number(lots[0].days)).toBeLessThanOrEqual(10);
    const again = await redeem(someone, code.code);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("PROMO_CODE_ALREADY_REDEEMED");
    expect(await balanceOf(someone.cookie)).toBe(250);
  });

  it("lasts PROMO_CREDIT_DAYS when the code names no creditDays", async () => {
    const code = await createCode();
    const someone = await person();
    expect((await redeem(someone, code.code)).status).toBe(201);
    const { rows } = await test.database.pool.query(
      `select extract(epoch from l.expires_at - now()) / 86400 as days
         from credits.lots l join credits.entries e on e.id = l.entry_id
        where l.user_id = $1 and e.kind = 'promo_code'`,
      [someone.user.id],
    );
    expect(Number(rows[0].days)).toBeGreaterThan(29.9);
    expect(Number(rows[0].days)).toBeLessThanOrEqual(30);
  });

  it("refuses unknown, expired and used-up codes with their own codes, and grants nothing", async () => {
    const someone = await person();
    const unknown = await redeem(someone, "NO-SUCH-CODE");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("PROMO_CODE_NOT_FOUND");
    expect(unknown.body.error.message).toMatch(/spelling/);

    const expiring = await createCode({ expiresAt: new Date(Date.now() + 60_000).toISOString() });
    await test.database.pool.query(
      "update promo.codes set expires_at = now() - interval '1 second' where id = $1",
      [expiring.id],
    );
    const expired = await redeem(someone, expiring.code);
    expect(expired.status).toBe(410);
    expect(expired.body.error.code).toBe("PROMO_CODE_EXPIRED");

    const single = await createCode({ maxRedemptions: 1 });
    expect((await redeem(await person(), single.code)).status).toBe(201);
    const usedUp = await redeem(someone, single.code);
    expect(usedUp.status).toBe(409);
    expect(usedUp.body.error.code).toBe("PROMO_CODE_USED_UP");

    const empty = await redeem(someone, "");
    expect(empty.status).toBe(400);
    expect(await balanceOf(someone.cookie)).toBe(50);
    const { rows } = await test.database.pool.query(
      "select count(*)::int as n from promo.redemptions where user_id = $1",
      [someone.user.id],
    );
    expect(rows[0].n).toBe(0);
  });

  it("never passes maxRedemptions: 30 people racing for a code of 10 get exactly 10 grants", async () => {
    const code = await createCode({ maxRedemptions: 10, amountCents: 75 });
    const people = await Promise.all(Array.from({ length: 30 }, () => person()));
    const answers = await Promise.all(people.map((someone) => redeem(someone, code.code)));
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(10);
    expect(statuses.filter((status) => status === 409)).toHaveLength(20);
    for (const answer of answers.filter((found) => found.status === 409)) {
      expect(answer.body.error.code).toBe("PROMO_CODE_USED_UP");
    }
    const { rows } = await test.database.pool.query(
      `select (select redemptions from promo.codes where id = $1) as counted,
              (select count(*)::int from promo.redemptions where code_id = $1) as redeemed,
              (select coalesce(sum(amount_cents), 0)::int from credits.entries where reference = 'promo:' || $1) as granted`,
      [code.id],
    );
    expect(rows[0]).toEqual({ counted: 10, redeemed: 10, granted: 750 });
    expect(await findInvariantViolations(test.database.pool)).toEqual([]);
  });

  it("grants once to one person clicking ten times at once", async () => {
    const code = await createCode({ amountCents: 120 });
    const someone = await person();
    const answers = await Promise.all(Array.from({ length: 10 }, () => redeem(someone, code.code)));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([201, ...Array(9).fill(409)]);
    expect(answers.filter((answer) => answer.status === 409).map((answer) => answer.body.error.code)).toEqual(
      Array(9).fill("PROMO_CODE_ALREADY_REDEEMED"),
    );
    expect(await balanceOf(someone.cookie)).toBe(170);
    const { rows } = await test.database.pool.query("select redemptions from promo.codes where id = $1", [
      code.id,
    ]);
    expect(rows[0].redemptions).toBe(1);
  });

  it("grants once per email address: an account deleted and made again with it is refused", async () => {
    const code = await createCode({ amountCents: 80 });
    const first = await person();
    expect((await redeem(first, code.code)).status).toBe(201);
    // The same address under a new user id, as after deleting the account and signing up again
    // (deletion frees the address; the ledger keeps the old account under a placeholder).
    await test.ledger.closeAccount({ userId: first.user.id });
    const reborn = `reborn-${Date.now()}`;
    const email = first.user.email;
    await test.ledger.ensureAccount({ userId: reborn, email, signupBonusCents: 0 });
    const again = redeemCode(
      { pool: test.database.pool, ledger: test.ledger, config: test.config },
      { userId: reborn, email: email.toUpperCase(), typed: code.code },
    );
    await expect(again).rejects.toMatchObject({ code: "PROMO_CODE_ALREADY_REDEEMED" });
    expect((await test.ledger.getBalance(reborn)).data?.balanceCents).toBe(0);
  });

  it("limits attempts per person: the eleventh within a quarter of an hour is 429 with Retry-After", async () => {
    const guesser = await person();
    for (let attempt = 0; attempt < 10; attempt++) {
      expect((await redeem(guesser, `GUESS-${attempt}`)).status).toBe(404);
    }
    const code = await createCode();
    const limited = await redeem(guesser, code.code);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("RATE_LIMITED");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await balanceOf(guesser.cookie)).toBe(50);
    // Someone else is not held back by the guesser.
    expect((await redeem(await person(), code.code)).status).toBe(201);
  });

  it("needs a signed-in person and a same-origin request", async () => {
    const signedOut = await test.app.request("/api/promo-codes/redeem", {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify({ code: "ANY" }),
    });
    expect(signedOut.status).toBe(401);
    const someone = await person();
    const crossSite = await test.app.request("/api/promo-codes/redeem", {
      method: "POST",
      headers: { cookie: someone.cookie, "content-type": "application/json", origin: "https://evil.example" },
      body: JSON.stringify({ code: "ANY" }),
    });
    expect(crossSite.status).toBe(403);
    const huge = await call(someone.cookie, "POST", "/api/promo-codes/redeem", { code: "x".repeat(40_000) });
    expect(huge.status).toBe(413);
  });
});
