import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MeteringServer, startMeteringServer } from "./support/metering.js";

// POST /v1/checkout over real HTTP, through the offline simulator: an app sends its customer to buy
// credits and gets them back on its own page, never on anyone else's (no open redirect).

const appOrigin = "https://app.example.com";
let metering: MeteringServer;

beforeAll(async () => {
  metering = await startMeteringServer({
    NEW_USER_CREDITS_CENTS: "50",
    CHECKOUT_RETURN_ORIGINS: `${appOrigin}, http://localhost:5173`,
  });
});
afterAll(() => metering.close());

const query = async (text: string, values: unknown[] = []) =>
  (await metering.test.database.pool.query(text, values)).rows;

async function newCustomer(): Promise<{ id: string; userId: string }> {
  const id = `buyer_${randomUUID()}`;
  const put = await metering.call("PUT", `/v1/customers/${id}`, { body: { email: `${id}@example.com` } });
  expect(put.status).toBe(201);
  const [row] = await query("select user_id from metering.customers where id = $1", [id]);
  return { id, userId: row.user_id };
}

const paymentsOf = (userId: string) =>
  query("select amount_cents::int as amount, credited_at from credits.payments where user_id = $1", [userId]);

const checkout = (body: unknown, options: { secret?: string | null; idempotencyKey?: string } = {}) =>
  metering.call("POST", "/v1/checkout", { body, ...options });

/** Submits one of the simulator page's forms (Pay or Cancel) as a browser would, without following. */
async function submit(pageUrl: string, verb: "pay" | "cancel"): Promise<Response> {
  const html = await (await fetch(pageUrl)).text();
  const action = new RegExp(`action="([^"]*/${verb}[^"]*)"`).exec(html)?.[1]?.replaceAll("&#38;", "&");
  expect(action).toBeDefined();
  return fetch(new URL(action as string, pageUrl), { method: "POST", redirect: "manual" });
}

describe("POST /v1/checkout", () => {
  it("answers a checkout url for an allowed returnUrl, recording the payment for the customer", async () => {
    const customer = await newCustomer();
    const answer = await checkout({
      customer: customer.id,
      amountCents: 300,
      returnUrl: `${appOrigin}/credits`,
    });
    expect(answer.status).toBe(201);
    expect(answer.body.url).toMatch(/\/simulator\/checkout\/cs_sim_[0-9a-f]{32}\?return=/);
    expect(await paymentsOf(customer.userId)).toEqual([{ amount: 300, credited_at: null }]);
  });

  it("through the simulator, credits the customer exactly once and returns to returnUrl", async () => {
    const customer = await newCustomer();
    const returnUrl = `${appOrigin}/credits?tab=buy`;
    const { body } = await checkout({ customer: customer.id, amountCents: 500, returnUrl });
    const paid = await submit(body.url, "pay");
    expect(paid.status).toBe(303);
    const location = new URL(paid.headers.get("location") ?? "");
    expect(location.origin + location.pathname).toBe(`${appOrigin}/credits`);
    expect(Object.fromEntries(location.searchParams)).toEqual({ tab: "buy", checkout: "success" });
    // Paying again delivers the event again; the webhook credits the session once.
    const again = await fetch(
      new URL(`${new URL(body.url).pathname}/pay${new URL(body.url).search}`, body.url),
      {
        method: "POST",
        redirect: "manual",
      },
    );
    expect(again.status).toBe(303);
    const view = await metering.call("GET", `/v1/customers/${customer.id}`);
    expect(view.body.balanceCents).toBe(550);
    const payments = await paymentsOf(customer.userId);
    expect(payments).toHaveLength(1);
    expect(payments[0].credited_at).not.toBeNull();
  });

  it("returns a cancelled buyer to returnUrl with checkout=cancel and credits nothing", async () => {
    const customer = await newCustomer();
    const { body } = await checkout({
      customer: customer.id,
      amountCents: 300,
      returnUrl: "http://localhost:5173/",
    });
    const cancelled = await submit(body.url, "cancel");
    expect(cancelled.status).toBe(303);
    expect(cancelled.headers.get("location")).toBe("http://localhost:5173/?checkout=cancel");
    expect((await metering.call("GET", `/v1/customers/${customer.id}`)).body.balanceCents).toBe(50);
  });

  it("answers the same session for a retry with the same Idempotency-Key", async () => {
    const customer = await newCustomer();
    const body = { customer: customer.id, amountCents: 300, returnUrl: appOrigin };
    const first = await checkout(body, { idempotencyKey: "buy-1" });
    const retry = await checkout(body, { idempotencyKey: "buy-1" });
    expect(retry.body.url).toBe(first.body.url);
    expect(await paymentsOf(customer.userId)).toHaveLength(1);
  });

  it("refuses a returnUrl off CHECKOUT_RETURN_ORIGINS with 400 naming the setting, and records nothing", async () => {
    const customer = await newCustomer();
    const refused = [
      "https://evil.example/credits",
      "https://app.example.com:8443/credits",
      "http://app.example.com/credits",
      "javascript:alert(1)",
      "//evil.example",
      "https://app.example.com@evil.example",
      "https://user:pass@app.example.com/",
      "https://app.example.com.evil.example/",
      "/credits",
      "",
    ];
    for (const returnUrl of refused) {
      const answer = await checkout({ customer: customer.id, amountCents: 300, returnUrl });
      expect(answer.status, returnUrl).toBe(400);
      expect(answer.body.error.code).toBe("RETURN_URL_NOT_ALLOWED");
      expect(answer.body.error.message).toContain("CHECKOUT_RETURN_ORIGINS");
    }
    expect(await paymentsOf(customer.userId)).toEqual([]);
  });

  it("never lets the simulator page redirect off the allowlist, whatever its query says", async () => {
    const customer = await newCustomer();
    const { body } = await checkout({ customer: customer.id, amountCents: 300, returnUrl: appOrigin });
    const page = new URL(body.url);
    page.searchParams.set("return", "https://evil.example/");
    const answer = await fetch(new URL(`${page.pathname}/pay${page.search}`, page), {
      method: "POST",
      redirect: "manual",
    });
    expect(answer.status).toBe(400);
    expect((await metering.call("GET", `/v1/customers/${customer.id}`)).body.balanceCents).toBe(50);
  });

  it("answers 404 CUSTOMER_NOT_FOUND for an unknown customer", async () => {
    const answer = await checkout({
      customer: `nobody_${randomUUID()}`,
      amountCents: 300,
      returnUrl: appOrigin,
    });
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe("CUSTOMER_NOT_FOUND");
  });

  it("refuses amounts outside TOPUP_* with 400 INVALID_AMOUNT and records nothing", async () => {
    const customer = await newCustomer();
    for (const amountCents of [50, 1050, 125, 0, -100, 2.5]) {
      const answer = await checkout({ customer: customer.id, amountCents, returnUrl: appOrigin });
      expect(answer.status, String(amountCents)).toBe(400);
      expect(["INVALID_AMOUNT", "INVALID_REQUEST"]).toContain(answer.body.error.code);
    }
    expect(await paymentsOf(customer.userId)).toEqual([]);
  });

  it("needs a service key", async () => {
    const customer = await newCustomer();
    const answer = await checkout(
      { customer: customer.id, amountCents: 300, returnUrl: appOrigin },
      { secret: null },
    );
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe("INVALID_SERVICE_KEY");
    expect(await paymentsOf(customer.userId)).toEqual([]);
  });
});

describe("POST /v1/checkout without Stripe or the simulator", () => {
  let closed: MeteringServer;
  beforeAll(async () => {
    closed = await startMeteringServer({ STRIPE_SIMULATOR: "off", CHECKOUT_RETURN_ORIGINS: appOrigin });
  });
  afterAll(() => closed.close());

  it("answers 503 CHECKOUT_NOT_CONFIGURED", async () => {
    const id = `buyer_${randomUUID()}`;
    await closed.call("PUT", `/v1/customers/${id}`, { body: { email: `${id}@example.com` } });
    const answer = await closed.call("POST", "/v1/checkout", {
      body: { customer: id, amountCents: 300, returnUrl: appOrigin },
    });
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe("CHECKOUT_NOT_CONFIGURED");
  });
});
