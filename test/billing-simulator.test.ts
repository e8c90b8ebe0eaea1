import { type ServerType, serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCheckout } from "../src/billing/checkout.js";
import type { BillingContext } from "../src/billing/context.js";
import { refundSimulatedPayment } from "../src/billing/simulated-refund.js";
import { loadConfig } from "../src/config.js";
import { freePort } from "../src/db/embedded.js";
import { createApp } from "../src/http/app.js";
import { createLedger } from "../src/ledger/index.js";
import { createLogger } from "../src/logger.js";
import {
  assertLedgerConsistent,
  balanceOf,
  entriesOf,
  uniqueId,
  webhookSecret,
} from "./support/billing-fixtures.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

// The offline simulator end to end over real HTTP: its Pay button signs a Stripe-format event and
// posts it to this server's own webhook route, so the server must really listen on PORT.

let database: TestDatabase;
let server: ServerType;
let context: BillingContext;
let baseUrl: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    NODE_ENV: "test",
    PORT: String(port),
    APP_URL: baseUrl,
    DATA_DIR: "/tmp/coinslot-billing-simulator-test",
    AUTH_SECRET: "x".repeat(32),
    STRIPE_WEBHOOK_SECRET: webhookSecret,
  });
  const ledger = createLedger({ pool: database.pool, holdTtlSeconds: config.holdTtlSeconds });
  const logger = createLogger("silent");
  context = { config, pool: database.pool, logger, ledger, stripe: undefined };
  const app = createApp({ config, pool: database.pool, logger, ledger });
  server = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" });
});
afterAll(async () => {
  await new Promise((done) => server.close(done));
  await database.drop();
});

async function newCheckout(amountCents = 300) {
  const userId = uniqueId("user_");
  const user = { id: userId, email: `${userId}@example.com`, name: "Payer", isAdmin: false };
  expect(
    (await context.ledger.ensureAccount({ userId, email: user.email, signupBonusCents: 50 })).error,
  ).toBeNull();
  const checkout = await startCheckout(context, { user, amountCents, requestKey: uniqueId("click-") });
  return { userId, user, ...checkout };
}

const post = (url: string) => fetch(url, { method: "POST", redirect: "manual" });

describe("checkout simulator", () => {
  it("shows a page clearly titled as a test checkout, with the amount, Pay and Cancel", async () => {
    const { url, checkoutSessionId } = await newCheckout(300);
    expect(url).toBe(`${baseUrl}/simulator/checkout/${checkoutSessionId}`);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain("<title>Test checkout — no real payment</title>");
    expect(html).toContain("$3.00");
    expect(html).toContain(`action="/simulator/checkout/${checkoutSessionId}/pay"`);
    expect(html).toContain(`action="/simulator/checkout/${checkoutSessionId}/cancel"`);
  });

  it("pays through the real webhook, returns to the success URL, and credits once however often Pay is pressed", async () => {
    const { userId, url, checkoutSessionId } = await newCheckout(300);
    const paid = await post(`${url}/pay`);
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe(`${baseUrl}/?checkout=success&session_id=${checkoutSessionId}`);
    expect(await balanceOf(database.pool, userId)).toBe(350);

    const again = await Promise.all([post(`${url}/pay`), post(`${url}/pay`)]);
    expect(again.map((response) => response.status)).toEqual([303, 303]);
    expect(await balanceOf(database.pool, userId)).toBe(350);
    const events = await database.pool.query(
      "select type from credits.stripe_events where user_id = $1 and type = 'checkout.session.completed'",
      [userId],
    );
    expect(events.rowCount).toBe(3);
    expect((await fetch(url)).status).toBe(409);
    await assertLedgerConsistent(database.pool);
  });

  it("returns to the cancel URL without crediting anything", async () => {
    const { userId, url } = await newCheckout(300);
    const cancelled = await post(`${url}/cancel`);
    expect(cancelled.status).toBe(303);
    expect(cancelled.headers.get("location")).toBe(`${baseUrl}/?checkout=cancel`);
    expect(await balanceOf(database.pool, userId)).toBe(50);
  });

  it("answers 404 for a checkout that does not exist", async () => {
    const missing = `${baseUrl}/simulator/checkout/cs_sim_${"0".repeat(32)}`;
    expect((await fetch(missing)).status).toBe(404);
    expect((await post(`${missing}/pay`)).status).toBe(404);
    expect((await fetch(`${baseUrl}/simulator/checkout/not-an-id`)).status).toBe(404);
  });

  it("refunds a simulated payment in parts through a signed charge.refunded", async () => {
    const { userId, url, checkoutSessionId } = await newCheckout(500);
    await post(`${url}/pay`);
    expect(await refundSimulatedPayment(context, { checkoutSessionId, amountCents: 200 })).toEqual({
      refundedCents: 200,
      amountCents: 500,
    });
    expect(await balanceOf(database.pool, userId)).toBe(350);
    expect(await refundSimulatedPayment(context, { checkoutSessionId, amountCents: undefined })).toEqual({
      refundedCents: 500,
      amountCents: 500,
    });
    expect(await balanceOf(database.pool, userId)).toBe(50);
    expect((await entriesOf(database.pool, userId)).map((entry) => entry.amountCents)).toEqual([
      50, 500, -200, -300,
    ]);
    await expect(
      refundSimulatedPayment(context, { checkoutSessionId, amountCents: 1 }),
    ).rejects.toMatchObject({
      code: "ALREADY_REFUNDED",
    });
    await assertLedgerConsistent(database.pool);
  });

  it("applies one of several refunds of one payment sent at once and refuses the others, losing none", async () => {
    const { userId, url, checkoutSessionId } = await newCheckout(500);
    await post(`${url}/pay`);
    const outcomes = await Promise.allSettled(
      [100, 100, 100].map((amountCents) =>
        refundSimulatedPayment(context, { checkoutSessionId, amountCents }),
      ),
    );
    const applied = outcomes.filter((outcome) => outcome.status === "fulfilled");
    const refused = outcomes.filter((outcome) => outcome.status === "rejected");
    expect(applied.length).toBeGreaterThanOrEqual(1);
    for (const outcome of refused)
      expect(outcome.reason).toMatchObject({ code: "REFUND_IN_PROGRESS", status: 409 });
    // Every refund that answered OK is in the ledger: the total reported is their sum.
    expect(applied.map((outcome) => outcome.value.refundedCents).sort((a, b) => a - b)).toEqual(
      applied.map((_, index) => (index + 1) * 100),
    );
    expect(await balanceOf(database.pool, userId)).toBe(550 - applied.length * 100);
    // Retried once the first is applied, a refused one goes through.
    expect(
      (await refundSimulatedPayment(context, { checkoutSessionId, amountCents: 100 })).refundedCents,
    ).toBe((applied.length + 1) * 100);
    await assertLedgerConsistent(database.pool);
  });

  it("refuses to refund an unpaid or unknown simulated payment, or more than is left", async () => {
    const { checkoutSessionId, url } = await newCheckout(300);
    await expect(
      refundSimulatedPayment(context, { checkoutSessionId, amountCents: 100 }),
    ).rejects.toMatchObject({
      code: "PAYMENT_NOT_PAID",
    });
    await post(`${url}/pay`);
    await expect(
      refundSimulatedPayment(context, { checkoutSessionId, amountCents: 301 }),
    ).rejects.toMatchObject({
      code: "INVALID_AMOUNT",
    });
    await expect(
      refundSimulatedPayment(context, { checkoutSessionId: `cs_sim_${"f".repeat(32)}`, amountCents: 1 }),
    ).rejects.toMatchObject({ code: "PAYMENT_NOT_FOUND" });
  });
});
