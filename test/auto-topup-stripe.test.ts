import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chargeDueTopUps } from "../src/billing/auto-topup-worker.js";
import {
  type AutoTopUpHarness,
  autoTopUpMails,
  availableOf,
  purchasesOf,
  startAutoTopUpHarness,
  topUpsOf,
} from "./auto-topup-support.js";
import {
  assertLedgerConsistent,
  checkoutSession,
  signedDelivery,
  stripeEvent,
  uniqueId,
} from "./support/billing-fixtures.js";

// Real Stripe mode: stripe-node itself, pointed (STRIPE_API_URL) at a server this test runs in
// Stripe's place, which answers customers, Checkout Sessions, a customer's payment methods and
// PaymentIntents the way Stripe does, idempotency keys and the 402 card errors included. Webhooks
// are signed exactly as Stripe signs them.

type Recorded = {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  form: Record<string, string>;
};
type Behaviour = "succeeds" | "authentication_required" | "card_declined";

type FakeStripe = {
  url: string;
  requests: Recorded[];
  /** How the next off-session charges of this customer's card go. */
  behaviours: Map<string, Behaviour>;
  close: () => Promise<void>;
};

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => done(body));
    request.on("error", fail);
  });
}

async function startFakeStripe(): Promise<FakeStripe> {
  const requests: Recorded[] = [];
  const behaviours = new Map<string, Behaviour>();
  const replies = new Map<string, { status: number; body: unknown }>();
  let counter = 0;

  function paymentIntent(form: Record<string, string>): { status: number; body: unknown } {
    counter += 1;
    const customer = form.customer ?? "";
    const behaviour = behaviours.get(customer) ?? "succeeds";
    const intent = {
      id: `pi_fake_${counter}`,
      object: "payment_intent",
      amount: Number(form.amount),
      amount_received: behaviour === "succeeds" ? Number(form.amount) : 0,
      currency: form.currency,
      customer,
      payment_method: form.payment_method,
      status: behaviour === "succeeds" ? "succeeded" : "requires_payment_method",
      metadata: { user_id: form["metadata[user_id]"], auto_topup_id: form["metadata[auto_topup_id]"] },
      livemode: false,
    };
    if (behaviour === "succeeds") return { status: 200, body: intent };
    const message =
      behaviour === "authentication_required"
        ? "Your card was declined. This transaction requires authentication."
        : "Your card was declined.";
    return {
      status: 402,
      body: {
        error: {
          type: "card_error",
          code: behaviour,
          decline_code: behaviour === "card_declined" ? "generic_decline" : behaviour,
          message,
          payment_intent: { ...intent, last_payment_error: { code: behaviour, message } },
        },
      },
    };
  }

  function answer(
    method: string,
    path: string,
    form: Record<string, string>,
  ): { status: number; body: unknown } {
    if (method === "POST" && path === "/v1/customers") {
      counter += 1;
      return { status: 200, body: { id: `cus_fake_${counter}`, object: "customer", email: form.email } };
    }
    if (method === "POST" && path === "/v1/checkout/sessions") {
      counter += 1;
      const id = `cs_test_fake_${counter}`;
      return {
        status: 200,
        body: { id, object: "checkout.session", url: `https://checkout.stripe.test/c/pay/${id}` },
      };
    }
    const cards = /^\/v1\/customers\/([^/]+)\/payment_methods$/.exec(path);
    if (method === "GET" && cards) {
      return {
        status: 200,
        body: {
          object: "list",
          data: [{ id: `pm_fake_for_${cards[1]}`, object: "payment_method" }],
          has_more: false,
        },
      };
    }
    if (method === "POST" && path === "/v1/payment_intents") return paymentIntent(form);
    return { status: 404, body: { error: { type: "invalid_request_error", message: `No route ${path}` } } };
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const raw = await readBody(request);
    const path = (request.url ?? "").split("?")[0] ?? "";
    const idempotencyKey = request.headers["idempotency-key"] as string | undefined;
    const form = Object.fromEntries(new URLSearchParams(raw));
    requests.push({ method: request.method ?? "", path, idempotencyKey, form });
    // Stripe's idempotency: the same key answers the first response again, errors included.
    const replay = idempotencyKey ? replies.get(idempotencyKey) : undefined;
    const reply = replay ?? answer(request.method ?? "", path, form);
    if (idempotencyKey && request.method === "POST") replies.set(idempotencyKey, reply);
    response.writeHead(reply.status, { "content-type": "application/json", "request-id": "req_fake" });
    response.end(JSON.stringify(reply.body));
  }

  const server = createServer((request, response) => {
    handle(request, response).catch(() => response.end());
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    behaviours,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

let stripe: FakeStripe;
let harness: AutoTopUpHarness;

beforeAll(async () => {
  stripe = await startFakeStripe();
  harness = await startAutoTopUpHarness({
    STRIPE_SECRET_KEY: "sk_test_auto_topup",
    STRIPE_API_URL: stripe.url,
  });
});
afterAll(async () => {
  await harness?.close();
  await stripe?.close();
});

const settings = { thresholdCents: 200, amountCents: 500, monthlyLimitCents: 2000 };

async function deliver(event: unknown): Promise<number> {
  return (await fetch(`${harness.baseUrl}/api/stripe/webhook`, signedDelivery(event))).status;
}

/** Turns auto top-up on: a Checkout that saves the card to a new customer, paid and delivered by webhook. */
async function personWithAutoTopUp() {
  const person = await harness.signUp();
  const response = await harness.call(person.cookie, "PUT", "/api/auto-topup", {
    enabled: true,
    ...settings,
  });
  expect(response.status).toBe(200);
  const { checkoutUrl } = (await response.json()) as { checkoutUrl: string };
  const sessionId = checkoutUrl.split("/").at(-1) as string;
  const created = stripe.requests.find(
    (request) => request.path === "/v1/checkout/sessions" && request.form.customer,
  );
  expect(created?.form).toMatchObject({
    mode: "payment",
    "payment_intent_data[setup_future_usage]": "off_session",
    "line_items[0][price_data][unit_amount]": "500",
  });
  const customerId = stripe.requests.filter((request) => request.path === "/v1/customers").length;
  expect(customerId).toBeGreaterThan(0);
  const session = checkoutSession({ id: sessionId, userId: person.userId, amountCents: 500 });
  expect(await deliver(stripeEvent("checkout.session.completed", session))).toBe(200);
  const view = await harness.view(person.cookie);
  expect(view.state).toBe("on");
  const { rows } = await harness.database.pool.query<{ customer: string }>(
    "select stripe_customer_id as customer from credits.auto_topup_settings where user_id = $1",
    [person.userId],
  );
  return { ...person, customerId: rows[0]?.customer as string };
}

async function spend(userId: string, amountCents: number) {
  return harness.context.ledger.spend({ userId, amountCents, idempotencyKey: uniqueId("spend-") });
}

describe("auto top-up against Stripe's API", () => {
  it("charges the saved card off-session once per top-up and credits it once, whatever the webhook does", async () => {
    const person = await personWithAutoTopUp();
    const spent = await Promise.all(Array.from({ length: 50 }, () => spend(person.userId, 8)));
    expect(spent.every((result) => result.error === null)).toBe(true);
    expect(await topUpsOf(harness, person.userId)).toHaveLength(1);

    await Promise.all([chargeDueTopUps(harness.context), chargeDueTopUps(harness.context)]);
    const charges = stripe.requests.filter(
      (request) => request.path === "/v1/payment_intents" && request.form.customer === person.customerId,
    );
    expect(charges).toHaveLength(1);
    const [topUp] = await topUpsOf(harness, person.userId);
    expect(charges[0]?.form).toMatchObject({
      amount: "500",
      currency: "usd",
      customer: person.customerId,
      payment_method: `pm_fake_for_${person.customerId}`,
      off_session: "true",
      confirm: "true",
      "metadata[auto_topup_id]": topUp?.id,
    });
    expect(charges[0]?.idempotencyKey).toMatch(/^auto-topup:[0-9a-f-]{36}$/);
    expect(topUp?.status).toBe("succeeded");
    expect(await availableOf(harness, person.userId)).toBe(600);

    // Stripe's webhook comes after, twice: nothing more is credited.
    const intent = {
      id: topUp?.payment_intent_id,
      object: "payment_intent",
      amount: 500,
      amount_received: 500,
      currency: "usd",
      status: "succeeded",
      metadata: { user_id: person.userId, auto_topup_id: topUp?.id },
    };
    const event = stripeEvent("payment_intent.succeeded", intent);
    expect(
      await Promise.all([
        deliver(event),
        deliver(event),
        deliver(stripeEvent("payment_intent.succeeded", intent)),
      ]),
    ).toEqual([200, 200, 200]);
    expect(
      (await purchasesOf(harness, person.userId)).filter(
        (entry) => entry.reference === topUp?.payment_intent_id,
      ),
    ).toHaveLength(1);
    await assertLedgerConsistent(harness.database.pool);
  });

  it("answers authentication_required with a failed top-up, an email and a Checkout to finish it", async () => {
    const person = await personWithAutoTopUp();
    stripe.behaviours.set(person.customerId, "authentication_required");
    expect((await spend(person.userId, 400)).error).toBeNull();
    await chargeDueTopUps(harness.context);
    const [topUp] = await topUpsOf(harness, person.userId);
    expect(topUp).toMatchObject({ status: "failed", failure_code: "authentication_required" });
    expect(topUp?.payment_intent_id).toMatch(/^pi_fake_/);
    expect(await autoTopUpMails(harness, person.email)).toHaveLength(1);
    // Stripe's payment_failed event for the same PaymentIntent changes nothing more.
    const failed = {
      id: topUp?.payment_intent_id,
      object: "payment_intent",
      amount: 500,
      currency: "usd",
      status: "requires_payment_method",
      metadata: { auto_topup_id: topUp?.id },
      last_payment_error: { code: "authentication_required", message: "x" },
    };
    expect(await deliver(stripeEvent("payment_intent.payment_failed", failed))).toBe(200);
    expect((await harness.view(person.cookie)).consecutiveFailures).toBe(1);

    const finish = await harness.call(person.cookie, "POST", `/api/auto-topup/top-ups/${topUp?.id}/finish`);
    expect(finish.status).toBe(200);
    const { url } = (await finish.json()) as { url: string };
    const sessionId = url.split("/").at(-1) as string;
    const created = stripe.requests.filter((request) => request.path === "/v1/checkout/sessions").at(-1);
    expect(created?.form).toMatchObject({
      customer: person.customerId,
      "payment_intent_data[setup_future_usage]": "off_session",
    });
    expect(
      await deliver(
        stripeEvent(
          "checkout.session.completed",
          checkoutSession({ id: sessionId, userId: person.userId, amountCents: 500 }),
        ),
      ),
    ).toBe(200);
    expect((await topUpsOf(harness, person.userId))[0]?.status).toBe("succeeded");
    expect(await availableOf(harness, person.userId)).toBe(600);
    expect(await harness.view(person.cookie)).toMatchObject({ notice: null, consecutiveFailures: 0 });
  });

  it("retries a Stripe that does not answer with backoff, not counting it as the card's failure", async () => {
    const person = await personWithAutoTopUp();
    expect((await spend(person.userId, 400)).error).toBeNull();
    const [pending] = await topUpsOf(harness, person.userId);
    // Stripe unreachable: the API URL points nowhere for this pass.
    const unreachable = {
      ...harness.context,
      stripe: (await import("../src/billing/stripe.js")).createStripeClient({
        ...harness.config,
        stripeApiUrl: "http://127.0.0.1:9",
      }),
    };
    await chargeDueTopUps(unreachable);
    const { rows } = await harness.database.pool.query<{ status: string; later: boolean }>(
      "select status, next_attempt_at > now() as later from credits.auto_topups where id = $1",
      [pending?.id],
    );
    expect(rows[0]).toEqual({ status: "pending", later: true });
    expect((await harness.view(person.cookie)).consecutiveFailures).toBe(0);
    // The retry is due (time passing, as the database sees it) and Stripe answers: one payment.
    await harness.database.pool.query(
      "update credits.auto_topups set next_attempt_at = now() where id = $1",
      [pending?.id],
    );
    await chargeDueTopUps(harness.context);
    const charges = stripe.requests.filter(
      (request) => request.path === "/v1/payment_intents" && request.form.customer === person.customerId,
    );
    expect(charges).toHaveLength(1);
    expect((await topUpsOf(harness, person.userId))[0]?.status).toBe("succeeded");
  });
});
