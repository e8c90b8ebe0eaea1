import { type ServerType, serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../src/db/embedded.js";
import { createTestApp, type SignedUp, type TestApp } from "./support/app.js";
import { assertLedgerConsistent, balanceOf } from "./support/billing-fixtures.js";

// The signed-in HTTP surface of buying credits, through the real session middleware (simulator
// mode: no STRIPE_SECRET_KEY). Stripe mode's parameters are in billing-checkout.test.ts.

const adminEmail = "billing-admin@example.com";
let testApp: TestApp;
let server: ServerType;
let admin: SignedUp;

// The simulator posts its signed events to this server's own webhook over HTTP, so it listens on PORT.
beforeAll(async () => {
  const port = await freePort();
  testApp = await createTestApp({
    ADMIN_EMAILS: adminEmail,
    PORT: String(port),
    APP_URL: `http://127.0.0.1:${port}`,
  });
  server = serve({ fetch: testApp.app.fetch, port, hostname: "127.0.0.1" });
  admin = await testApp.signUpVerified(adminEmail);
});
afterAll(async () => {
  await new Promise((done) => server.close(done));
  await testApp.close();
});

function post(
  path: string,
  cookie: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return testApp.app.request(path, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      origin: new URL(testApp.config.appUrl).origin,
      ...(cookie && { cookie }),
      ...headers,
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

describe("POST /api/checkout", () => {
  it("requires a session", async () => {
    const response = await post("/api/checkout", undefined, { amountCents: 300 });
    expect(response.status).toBe(401);
    expect((await response.json()).error.code).toBe("UNAUTHENTICATED");
  });

  it("refuses amounts outside TOPUP_MIN/MAX/STEP with a 400 that names the allowed amounts", async () => {
    const { cookie } = await testApp.signUp();
    for (const amountCents of [50, 1050, 125, 0, -100]) {
      const response = await post("/api/checkout", cookie, { amountCents });
      expect(response.status).toBe(400);
      const { error } = await response.json();
      expect(error.code).toBe("INVALID_AMOUNT");
      expect(error.message).toContain("from $1.00 to $10.00 in steps of $0.50");
    }
    for (const body of [{ amountCents: 2.5 }, { amountCents: "300" }, {}]) {
      const response = await post("/api/checkout", cookie, body);
      expect(response.status).toBe(400);
      expect((await response.json()).error.code).toBe("INVALID_REQUEST");
    }
  });

  it("answers the simulator's URL, the same one for a repeated Idempotency-Key", async () => {
    const { cookie } = await testApp.signUp();
    const first = await post("/api/checkout", cookie, { amountCents: 300 }, { "idempotency-key": "click-7" });
    const again = await post("/api/checkout", cookie, { amountCents: 300 }, { "idempotency-key": "click-7" });
    const other = await post("/api/checkout", cookie, { amountCents: 300 });
    const urls = [(await first.json()).url, (await again.json()).url, (await other.json()).url];
    expect(urls[0]).toMatch(new RegExp(`^${testApp.config.appUrl}/simulator/checkout/cs_sim_[0-9a-f]{32}$`));
    expect(urls[1]).toBe(urls[0]);
    expect(urls[2]).not.toBe(urls[0]);
  });
});

describe("POST /api/checkout/confirm", () => {
  it("shows the owner a pending payment and hides it from everyone else", async () => {
    const owner = await testApp.signUp();
    const stranger = await testApp.signUp();
    const { url } = await (await post("/api/checkout", owner.cookie, { amountCents: 500 })).json();
    const sessionId = url.split("/").at(-1);
    const mine = await post("/api/checkout/confirm", owner.cookie, { sessionId });
    expect(mine.status).toBe(200);
    expect((await mine.json()).payment).toEqual({
      checkoutSessionId: sessionId,
      amountCents: 500,
      currency: "usd",
      status: "pending",
      credited: false,
    });
    const theirs = await post("/api/checkout/confirm", stranger.cookie, { sessionId });
    expect(theirs.status).toBe(404);
    expect((await theirs.json()).error.code).toBe("PAYMENT_NOT_FOUND");
    const malformed = await post("/api/checkout/confirm", owner.cookie, { sessionId: "not a session" });
    expect(malformed.status).toBe(400);
  });
});

describe("POST /api/admin/payments/:checkoutSessionId/refund", () => {
  it("is refused to a signed-in user who is not an admin, and changes nothing", async () => {
    const payer = await testApp.signUp();
    const { url } = await (await post("/api/checkout", payer.cookie, { amountCents: 300 })).json();
    const sessionId = url.split("/").at(-1);
    const response = await post(`/api/admin/payments/${sessionId}/refund`, payer.cookie, {});
    expect(response.status).toBe(403);
    expect((await response.json()).error.code).toBe("FORBIDDEN");
    expect(await balanceOf(testApp.database.pool, payer.user.id)).toBe(testApp.config.newUserCreditsCents);
  });

  it("lets an admin ask, and says when the payment is not paid yet", async () => {
    const payer = await testApp.signUp();
    expect(admin.user.isAdmin).toBe(true);
    const { url } = await (await post("/api/checkout", payer.cookie, { amountCents: 300 })).json();
    const sessionId = url.split("/").at(-1);
    const response = await post(`/api/admin/payments/${sessionId}/refund`, admin.cookie);
    expect(response.status).toBe(409);
    expect((await response.json()).error.code).toBe("PAYMENT_NOT_PAID");
    await assertLedgerConsistent(testApp.database.pool);
  });
});

describe("a simulated purchase end to end", () => {
  it("buys, pays on the test page, confirms on return, and an admin refunds part of it", async () => {
    const payer = await testApp.signUp();
    const starter = testApp.config.newUserCreditsCents;
    const { url } = await (await post("/api/checkout", payer.cookie, { amountCents: 600 })).json();
    const sessionId = url.split("/").at(-1);
    const paid = await fetch(`${url}/pay`, { method: "POST", redirect: "manual" });
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe(
      `${testApp.config.appUrl}/?checkout=success&session_id=${sessionId}`,
    );
    const confirmed = await post("/api/checkout/confirm", payer.cookie, { sessionId });
    expect((await confirmed.json()).payment).toMatchObject({ status: "paid", credited: true });
    expect(await balanceOf(testApp.database.pool, payer.user.id)).toBe(starter + 600);

    const refund = await post(`/api/admin/payments/${sessionId}/refund`, admin.cookie, { amountCents: 250 });
    expect(refund.status).toBe(200);
    expect((await refund.json()).refund).toEqual({ refundedCents: 250, amountCents: 600 });
    expect(await balanceOf(testApp.database.pool, payer.user.id)).toBe(starter + 350);
    const rest = await post(`/api/admin/payments/${sessionId}/refund`, admin.cookie);
    expect((await rest.json()).refund).toEqual({ refundedCents: 600, amountCents: 600 });
    expect(await balanceOf(testApp.database.pool, payer.user.id)).toBe(starter);
    await assertLedgerConsistent(testApp.database.pool);
  });
});

describe("production without Stripe", () => {
  it("refuses to hand out simulated credits and says what to set", async () => {
    const production = await createTestApp({
      NODE_ENV: "production",
      APP_URL: "https://credits.example.test",
      SMTP_URL: "smtp://127.0.0.1:9",
      // Signed in at sign-up, as without verification: this suite is about checkout.
      REQUIRE_EMAIL_VERIFICATION: "false",
    });
    try {
      const { cookie } = await production.signUp();
      const response = await production.app.request("/api/checkout", {
        method: "POST",
        headers: { "content-type": "application/json", origin: "https://credits.example.test", cookie },
        body: JSON.stringify({ amountCents: 300 }),
      });
      expect(response.status).toBe(503);
      const { error } = await response.json();
      expect(error.code).toBe("CHECKOUT_NOT_CONFIGURED");
      expect(error.message).toContain("STRIPE_SECRET_KEY");
      // Even a simulated session left from a development run cannot be paid.
      const leftover = `cs_sim_${"a".repeat(32)}`;
      await production.database.pool.query(
        `insert into credits.payments (checkout_session_id, user_id, amount_cents, currency, status)
         values ($1, 'someone', 300, 'usd', 'pending')`,
        [leftover],
      );
      expect((await production.app.request(`/simulator/checkout/${leftover}`)).status).toBe(404);
      expect(
        (await production.app.request(`/simulator/checkout/${leftover}/pay`, { method: "POST" })).status,
      ).toBe(404);
    } finally {
      await production.close();
    }
  });
});

describe("the simulator only where it cannot give credits away unnoticed", () => {
  const publicUrl = "https://example.com";

  async function checkoutAt(test: TestApp, body: unknown = { amountCents: 300 }) {
    const { cookie } = await test.signUp();
    const request = () =>
      test.app.request("/api/checkout", {
        method: "POST",
        headers: { "content-type": "application/json", origin: new URL(test.config.appUrl).origin, cookie },
        body: JSON.stringify(body),
      });
    return { request, first: await request() };
  }

  async function paymentRows(test: TestApp): Promise<number> {
    return (await test.database.pool.query("select 1 from credits.payments")).rowCount ?? 0;
  }

  it("answers 503 behind a public APP_URL without a Stripe key, even when NODE_ENV is not production", async () => {
    const test = await createTestApp({ NODE_ENV: "development", APP_URL: publicUrl });
    try {
      const { first } = await checkoutAt(test);
      expect(first.status).toBe(503);
      const { error } = await first.json();
      expect(error.code).toBe("CHECKOUT_NOT_CONFIGURED");
      expect(error.message).toContain("STRIPE_SECRET_KEY");
      expect(error.message).toContain("STRIPE_SIMULATOR=on");
      expect(await paymentRows(test)).toBe(0);
      const leftover = `cs_sim_${"b".repeat(32)}`;
      await test.database.pool.query(
        `insert into credits.payments (checkout_session_id, user_id, amount_cents, currency, status)
         values ($1, 'someone', 300, 'usd', 'pending')`,
        [leftover],
      );
      expect((await test.app.request(`/simulator/checkout/${leftover}`)).status).toBe(404);
      expect((await test.app.request(`/simulator/checkout/${leftover}/pay`, { method: "POST" })).status).toBe(
        404,
      );
    } finally {
      await test.close();
    }
  });

  it("answers 503 on localhost when STRIPE_SIMULATOR=off", async () => {
    const test = await createTestApp({ STRIPE_SIMULATOR: "off" });
    try {
      expect((await checkoutAt(test)).first.status).toBe(503);
    } finally {
      await test.close();
    }
  });

  it("works behind a public APP_URL with STRIPE_SIMULATOR=on, within the per-user checkout limit", async () => {
    const test = await createTestApp({
      NODE_ENV: "development",
      APP_URL: publicUrl,
      STRIPE_SIMULATOR: "on",
      CHECKOUT_RATE_LIMIT_MAX: "2",
    });
    try {
      // Refused input reaches neither Stripe nor the table, so it does not count.
      const { request, first } = await checkoutAt(test, { amountCents: 50 });
      expect(first.status).toBe(400);
      for (let attempt = 0; attempt < 4; attempt += 1) expect((await request()).status).toBe(400);
      const { request: buy, first: opened } = await checkoutAt(test);
      expect(opened.status).toBe(200);
      expect((await opened.json()).url).toMatch(
        /^https:\/\/example\.com\/simulator\/checkout\/cs_sim_[0-9a-f]{32}$/,
      );
      expect((await buy()).status).toBe(200);
      const limited = await buy();
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
      expect((await limited.json()).error.code).toBe("RATE_LIMITED");
      expect(await paymentRows(test)).toBe(2);
    } finally {
      await test.close();
    }
  });
});
