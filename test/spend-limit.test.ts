import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SignedUp } from "./support/app.js";
import { chatBody, newId } from "./support/chat.js";
import { type MeteringServer, startMeteringServer } from "./support/metering.js";

// The surfaces of the monthly spend limit: a person sets theirs in settings, an app sets its
// customer's through the metering API; once reached, chat and /v1/usage are refused with 402.

let metering: MeteringServer;

const origin = () => new URL(metering.test.config.appUrl).origin;

async function call(cookie: string, method: string, path: string, body?: unknown) {
  const response = await metering.test.app.request(path, {
    method,
    headers: { cookie, "content-type": "application/json", origin: origin() },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

async function person(): Promise<SignedUp> {
  const signedUp = await metering.test.signUp();
  await metering.test.app.request("/api/me", { headers: { cookie: signedUp.cookie } });
  return signedUp;
}

async function newCustomer(): Promise<string> {
  const id = `limit_${randomUUID()}`;
  const put = await metering.call("PUT", `/v1/customers/${id}`, { body: { email: `${id}@example.com` } });
  expect(put.status).toBe(201);
  return id;
}

const use = (customer: string, amountCents: number) =>
  metering.call("POST", "/v1/usage", {
    body: { customer, amountCents, description: "test" },
    idempotencyKey: randomUUID(),
  });

beforeAll(async () => {
  metering = await startMeteringServer({ NEW_USER_CREDITS_CENTS: "500" });
});
afterAll(() => metering?.close());

describe("a person's spend limit", () => {
  it("is none at first, set and removed in settings, with this month's usage beside it", async () => {
    const someone = await person();
    expect((await call(someone.cookie, "GET", "/api/spend-limit")).body).toEqual({
      monthlyLimitCents: null,
      monthUsageCents: 0,
    });
    const set = await call(someone.cookie, "PUT", "/api/spend-limit", { monthlyLimitCents: 300 });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ monthlyLimitCents: 300, monthUsageCents: 0 });
    expect((await call(someone.cookie, "GET", "/api/spend-limit")).body.monthlyLimitCents).toBe(300);
    const removed = await call(someone.cookie, "PUT", "/api/spend-limit", { monthlyLimitCents: null });
    expect(removed.body.monthlyLimitCents).toBeNull();
  });

  it("refuses what is not whole cents from 0 to 100,000,000, and anyone signed out", async () => {
    const someone = await person();
    for (const body of [
      { monthlyLimitCents: -1 },
      { monthlyLimitCents: 2.5 },
      { monthlyLimitCents: "300" },
      { monthlyLimitCents: 100_000_001 },
      {},
    ]) {
      const answer = await call(someone.cookie, "PUT", "/api/spend-limit", body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe("INVALID_REQUEST");
    }
    expect((await call(someone.cookie, "GET", "/api/spend-limit")).body.monthlyLimitCents).toBeNull();
    expect((await metering.test.app.request("/api/spend-limit")).status).toBe(401);
  });

  it("stops the chat with 402 SPEND_LIMIT_REACHED once reached, and charges nothing", async () => {
    const someone = await person();
    const answered = await metering.test.app.request("/api/chat", {
      method: "POST",
      headers: { cookie: someone.cookie, "content-type": "application/json", origin: origin() },
      body: JSON.stringify(chatBody({ chatId: newId("chat"), messageId: newId("m"), text: "Say hi" })),
    });
    expect(answered.status).toBe(200);
    await answered.text();
    // This month's usage is what the answer cost: the starter 500 less the balance now.
    const { monthUsageCents } = (await call(someone.cookie, "GET", "/api/spend-limit")).body;
    expect(monthUsageCents).toBeGreaterThan(0);
    expect(monthUsageCents).toBe(500 - (await call(someone.cookie, "GET", "/api/me")).body.balanceCents);
    const set = await call(someone.cookie, "PUT", "/api/spend-limit", { monthlyLimitCents: 0 });
    expect(set.status).toBe(200);
    const balanceBefore = (await call(someone.cookie, "GET", "/api/me")).body.balanceCents;
    const refused = await metering.test.app.request("/api/chat", {
      method: "POST",
      headers: { cookie: someone.cookie, "content-type": "application/json", origin: origin() },
      body: JSON.stringify(chatBody({ chatId: newId("chat"), messageId: newId("m"), text: "Say hi again" })),
    });
    expect(refused.status).toBe(402);
    expect((await refused.json()).error.code).toBe("SPEND_LIMIT_REACHED");
    expect((await call(someone.cookie, "GET", "/api/me")).body.balanceCents).toBe(balanceBefore);
  });

  it("takes at most 30 setting changes a minute per person (429 with Retry-After after)", async () => {
    const someone = await person();
    for (let change = 0; change < 30; change++) {
      const answer = await call(someone.cookie, "PUT", "/api/spend-limit", {
        monthlyLimitCents: 1_000 + change,
      });
      expect(answer.status).toBe(200);
    }
    const limited = await metering.test.app.request("/api/alerts/low-balance", {
      method: "PUT",
      headers: { cookie: someone.cookie, "content-type": "application/json", origin: origin() },
      body: JSON.stringify({ thresholdCents: 5 }),
    });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await call(someone.cookie, "GET", "/api/spend-limit")).body.monthlyLimitCents).toBe(1_029);
  });
});

describe("PUT /v1/customers/:id/spend-limit", () => {
  it("sets the customer's limit; usage past it is 402 SPEND_LIMIT_REACHED, usage within it goes through", async () => {
    const customer = await newCustomer();
    const set = await metering.call("PUT", `/v1/customers/${customer}/spend-limit`, {
      body: { monthlyLimitCents: 100 },
    });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ customer, monthlyLimitCents: 100, monthUsageCents: 0 });
    expect((await use(customer, 60)).status).toBe(201);
    const over = await use(customer, 50);
    expect(over.status).toBe(402);
    expect(over.body.error.code).toBe("SPEND_LIMIT_REACHED");
    expect((await use(customer, 40)).status).toBe(201);
    const hold = await metering.call("POST", "/v1/holds", {
      body: { customer, amountCents: 1 },
      idempotencyKey: randomUUID(),
    });
    expect(hold.status).toBe(402);
    expect(hold.body.error.code).toBe("SPEND_LIMIT_REACHED");
    const raised = await metering.call("PUT", `/v1/customers/${customer}/spend-limit`, {
      body: { monthlyLimitCents: null },
    });
    expect(raised.body).toMatchObject({ monthlyLimitCents: null });
    expect((await use(customer, 50)).status).toBe(201);
    const { body } = await metering.call("GET", `/v1/customers/${customer}`);
    expect(body.balanceCents).toBe(500 - 60 - 40 - 50);
  });

  it("answers 404 for an unknown customer, 400 for a bad limit, 401 without a service key", async () => {
    const customer = await newCustomer();
    const unknown = await metering.call("PUT", "/v1/customers/nobody-here/spend-limit", {
      body: { monthlyLimitCents: 10 },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("CUSTOMER_NOT_FOUND");
    const bad = await metering.call("PUT", `/v1/customers/${customer}/spend-limit`, {
      body: { monthlyLimitCents: -5 },
    });
    expect(bad.status).toBe(400);
    const keyless = await metering.call("PUT", `/v1/customers/${customer}/spend-limit`, {
      body: { monthlyLimitCents: 10 },
      secret: null,
    });
    expect(keyless.status).toBe(401);
    expect((await use(customer, 20)).status).toBe(201);
  });
});
