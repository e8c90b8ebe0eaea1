import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webhookSecretCommand } from "../src/cli/webhooks.js";
import { freePort } from "../src/db/embedded.js";
import { unwrap } from "../src/ledger/index.js";
import { createLogger } from "../src/logger.js";
import { startWebhookDeliverer } from "../src/webhooks/deliverer.js";
import { type MeteringServer, startMeteringServer } from "./support/metering.js";

// Outgoing webhooks over real HTTP: the server delivers its outbox to local receivers, which check
// the signature the way an app's backend would, with node:crypto and nothing of Coinslot's.

const appOrigin = "https://app.example.com";
const adminEmail = "webhook-admin@example.com";

type Received = {
  eventId: string;
  type: string;
  customer: string;
  // biome-ignore lint/suspicious/noExplicitAny: each test asserts the fields it reads.
  data: any;
  answered: number;
  signatureValid: boolean;
};

type Receiver = { url: string; received: Received[]; answer: number; close: () => Promise<void> };

/** What an app does with `Coinslot-Signature: t=...,v1=...`: recompute, compare in constant time, check the age. */
function verifySignature(header: string | undefined, body: string, secret: string): boolean {
  const parts = Object.fromEntries((header ?? "").split(",").map((part) => part.split("=", 2)));
  const timestamp = Number(parts.t);
  if (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > 300) return false;
  const expected = createHmac("sha256", secret).update(`${parts.t}.${body}`).digest();
  const given = Buffer.from(String(parts.v1 ?? ""), "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function startReceiver(port: number, secret: () => string): Promise<Receiver> {
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    received: [],
    answer: 200,
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const event = JSON.parse(body);
      const header = request.headers["coinslot-signature"];
      receiver.received.push({
        eventId: event.id,
        type: event.type,
        customer: event.data.customer,
        data: event.data,
        answered: receiver.answer,
        signatureValid: verifySignature(Array.isArray(header) ? header[0] : header, body, secret()),
      });
      response.writeHead(receiver.answer).end();
    });
  });
  await new Promise<void>((listening) => server.listen(port, "127.0.0.1", () => listening()));
  receiver.close = () => new Promise((done) => server.close(() => done()));
  return receiver;
}

async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let metering: MeteringServer;
let main: Receiver;
let later: Receiver | undefined;
let laterPort: number;
let stopDeliverer: () => Promise<void>;

const secretOf = (url: string) => webhookSecretCommand(metering.test.config, url).output;

beforeAll(async () => {
  const mainPort = await freePort();
  laterPort = await freePort();
  main = await startReceiver(mainPort, () => secretOf(main.url));
  metering = await startMeteringServer({
    NEW_USER_CREDITS_CENTS: "500",
    CHECKOUT_RETURN_ORIGINS: appOrigin,
    LOW_BALANCE_ALERT_CENTS: "100",
    ADMIN_EMAILS: adminEmail,
    // The second endpoint's port has nothing listening until a test starts a receiver there.
    WEBHOOK_ENDPOINTS: `${main.url}, http://127.0.0.1:${laterPort}/hooks`,
  });
  const { config, database } = metering.test;
  const deliverer = await startWebhookDeliverer({
    pool: database.pool,
    logger: createLogger("silent"),
    endpointUrls: config.webhookEndpoints,
    authSecret: config.authSecret,
    lowBalanceAlertCents: config.lowBalanceAlertCents,
    intervalMs: 25,
    timeoutMs: 2_000,
    retry: { baseDelayMs: 100, maxDelayMs: 400, giveUpAfterMs: 60_000 },
  });
  stopDeliverer = deliverer.stop;
});

afterAll(async () => {
  await stopDeliverer?.();
  await main?.close();
  await later?.close();
  await metering?.close();
});

const query = async (text: string, values: unknown[] = []) =>
  (await metering.test.database.pool.query(text, values)).rows;

async function newCustomer(): Promise<{ id: string; userId: string }> {
  const id = `app_user_${randomUUID()}`;
  const put = await metering.call("PUT", `/v1/customers/${id}`, { body: { email: `${id}@example.com` } });
  expect(put.status).toBe(201);
  const [row] = await query("select user_id from metering.customers where id = $1", [id]);
  return { id, userId: row.user_id };
}

/** Buys through POST /v1/checkout and the simulator's Pay button, as the customer's browser would. */
async function buy(customer: string, amountCents: number): Promise<void> {
  const { body } = await metering.call("POST", "/v1/checkout", {
    body: { customer, amountCents, returnUrl: `${appOrigin}/credits` },
  });
  const html = await (await fetch(body.url)).text();
  const action = /action="([^"]*\/pay[^"]*)"/.exec(html)?.[1]?.replaceAll("&#38;", "&");
  const paid = await fetch(new URL(action as string, body.url), { method: "POST", redirect: "manual" });
  expect(paid.status).toBe(303);
}

const deliveredTo = (receiver: Receiver, customer: string, type?: string) =>
  receiver.received.filter(
    (event) => event.customer === customer && event.answered === 200 && (!type || event.type === type),
  );

const outboxOf = (userId: string) =>
  query(
    "select type, endpoint_url, status, attempts, last_error from metering.webhook_outbox where user_id = $1",
    [userId],
  );

describe("outgoing webhooks", () => {
  it("delivers one signed credits.purchased for a customer's purchase", async () => {
    const customer = await newCustomer();
    await buy(customer.id, 300);
    const [event] = await waitFor(() => {
      const found = deliveredTo(main, customer.id);
      return found.length > 0 ? found : undefined;
    }, "credits.purchased");
    await pause(300);
    expect(deliveredTo(main, customer.id)).toHaveLength(1);
    expect(event?.type).toBe("credits.purchased");
    expect(event?.signatureValid).toBe(true);
    expect(event?.data).toMatchObject({
      customer: customer.id,
      amountCents: 300,
      balanceCents: 800,
      availableCents: 800,
    });
  });

  it("refuses a signature made with another secret (the receiver's check is not vacuous)", () => {
    const body = JSON.stringify({ id: "x" });
    const t = Math.floor(Date.now() / 1000);
    const forged = createHmac("sha256", "whsec_other").update(`${t}.${body}`).digest("hex");
    expect(verifySignature(`t=${t},v1=${forged}`, body, secretOf(main.url))).toBe(false);
  });

  it("retries an endpoint answering 503 with backoff, then delivers once", async () => {
    const customer = await newCustomer();
    main.answer = 503;
    unwrap(
      await metering.test.ledger.clawBack({
        userId: customer.userId,
        amountCents: 120,
        kind: "refund",
        idempotencyKey: `refund:${customer.id}`,
      }),
    );
    await waitFor(
      () => main.received.filter((event) => event.customer === customer.id).length >= 2 || undefined,
      "two refused attempts",
    );
    main.answer = 200;
    await waitFor(() => deliveredTo(main, customer.id).length > 0 || undefined, "the delivery");
    await pause(300);
    const delivered = deliveredTo(main, customer.id);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({ type: "credits.refunded", signatureValid: true });
    expect(delivered[0]?.data).toMatchObject({ amountCents: 120, reason: "refund", balanceCents: 380 });
    const attempts = main.received.filter((event) => event.customer === customer.id);
    expect(new Set(attempts.map((event) => event.eventId)).size).toBe(1);
    const [row] = (await outboxOf(customer.userId)).filter((entry) => entry.endpoint_url === main.url);
    expect(row).toMatchObject({ status: "delivered", attempts: attempts.length });
  });

  it("retries an endpoint nobody listens on, and delivers once it is up", async () => {
    const customer = await newCustomer();
    const laterUrl = `http://127.0.0.1:${laterPort}/hooks`;
    await buy(customer.id, 300);
    await waitFor(async () => {
      const rows = await outboxOf(customer.userId);
      const row = rows.find((entry) => entry.endpoint_url === laterUrl);
      return row && row.attempts >= 2 ? row : undefined;
    }, "failed attempts to the closed port");
    const [failing] = (await outboxOf(customer.userId)).filter((entry) => entry.endpoint_url === laterUrl);
    expect(failing).toMatchObject({ status: "pending", last_error: "could not connect (ECONNREFUSED)" });
    later = await startReceiver(laterPort, () => secretOf(laterUrl));
    const receiver = later;
    await waitFor(() => deliveredTo(receiver, customer.id).length > 0 || undefined, "the late delivery");
    await pause(300);
    expect(deliveredTo(receiver, customer.id)).toHaveLength(1);
    expect(deliveredTo(receiver, customer.id)[0]?.signatureValid).toBe(true);
    // The other endpoint was never held up by this one.
    expect(deliveredTo(main, customer.id, "credits.purchased")).toHaveLength(1);
  });

  it("sends hold.expired for a /v1 hold the sweeper releases, and nothing for a released one", async () => {
    const customer = await newCustomer();
    const expiring = await metering.call("POST", "/v1/holds", {
      body: { customer: customer.id, amountCents: 20, ttlSeconds: 1 },
      idempotencyKey: "expiring",
    });
    expect(expiring.status).toBe(201);
    const released = await metering.call("POST", "/v1/holds", {
      body: { customer: customer.id, amountCents: 30, ttlSeconds: 1 },
      idempotencyKey: "released",
    });
    expect((await metering.call("POST", `/v1/holds/${released.body.id}/release`)).status).toBe(200);
    await pause(1_100);
    await metering.test.ledger.sweepExpiredHolds();
    const [event] = await waitFor(() => {
      const found = deliveredTo(main, customer.id, "hold.expired");
      return found.length > 0 ? found : undefined;
    }, "hold.expired");
    expect(event?.data).toMatchObject({ hold: expiring.body.id, amountCents: 20, availableCents: 500 });
    await pause(300);
    expect(deliveredTo(main, customer.id).map((found) => found.type)).toEqual(["hold.expired"]);
  });

  it("sends balance.low once per crossing of LOW_BALANCE_ALERT_CENTS, re-armed above it", async () => {
    const customer = await newCustomer();
    let key = 0;
    const use = async (amountCents: number) => {
      const answer = await metering.call("POST", "/v1/usage", {
        body: { customer: customer.id, amountCents, description: "test" },
        idempotencyKey: `use-${key++}`,
      });
      expect(answer.status).toBe(201);
    };
    await use(450); // 50 left: crosses below 100
    await use(10); // still below: no second alert
    unwrap(
      await metering.test.ledger.grant({
        userId: customer.userId,
        amountCents: 200,
        kind: "adjustment",
        idempotencyKey: `topup:${customer.id}`,
      }),
    ); // 240: above again, re-armed
    await use(200); // 40: crosses again
    const lows = await waitFor(() => {
      const found = deliveredTo(main, customer.id, "balance.low");
      return found.length >= 2 ? found : undefined;
    }, "two balance.low");
    await pause(300);
    expect(deliveredTo(main, customer.id, "balance.low")).toHaveLength(2);
    expect(lows.map((event) => event.data.availableCents)).toEqual([50, 40]);
    expect(lows[0]?.data.thresholdCents).toBe(100);
  });

  it("sends nothing for a Coinslot user who is no app's customer", async () => {
    const { cookie, user } = await metering.test.signUp();
    await metering.test.app.request("/api/me", { headers: { cookie } });
    const { ledger } = metering.test;
    unwrap(
      await ledger.grant({
        userId: user.id,
        amountCents: 300,
        kind: "purchase",
        idempotencyKey: `p:${user.id}`,
      }),
    );
    unwrap(
      await ledger.clawBack({
        userId: user.id,
        amountCents: 300,
        kind: "refund",
        idempotencyKey: `r:${user.id}`,
      }),
    );
    unwrap(await ledger.spend({ userId: user.id, amountCents: 45, idempotencyKey: `s:${user.id}` }));
    expect(await outboxOf(user.id)).toEqual([]);
  });

  it("writes nothing when the cause rolls back, though the event was in its transaction", async () => {
    const customer = await newCustomer();
    const client = await metering.test.database.pool.connect();
    try {
      await client.query("begin");
      unwrap(
        await metering.test.ledger.grant({
          userId: customer.userId,
          amountCents: 300,
          kind: "purchase",
          idempotencyKey: `rolled-back:${customer.id}`,
          client,
        }),
      );
      const inside = await client.query("select type from metering.webhook_outbox where user_id = $1", [
        customer.userId,
      ]);
      expect(inside.rows.map((row) => row.type)).toEqual(["credits.purchased", "credits.purchased"]);
      await client.query("rollback");
    } finally {
      client.release();
    }
    expect(await outboxOf(customer.userId)).toEqual([]);
  });

  it("lists deliveries with their attempts for admins only", async () => {
    const person = await metering.test.signUp();
    const refused = await metering.test.app.request("/api/admin/webhook-deliveries", {
      headers: { cookie: person.cookie },
    });
    expect(refused.status).toBe(403);
    const admin = await metering.test.signUpVerified(adminEmail);
    const list = await metering.test.app.request("/api/admin/webhook-deliveries?limit=5", {
      headers: { cookie: admin.cookie },
    });
    expect(list.status).toBe(200);
    const body = await list.json();
    expect(body.endpoints).toEqual(metering.test.config.webhookEndpoints);
    expect(body.deliveries.length).toBeGreaterThan(0);
    expect(body.deliveries.length).toBeLessThanOrEqual(5);
    expect(body.deliveries[0]).toMatchObject({ eventId: expect.any(String), attempts: expect.any(Number) });
    expect(JSON.stringify(body)).not.toContain("whsec_");
  });
});
