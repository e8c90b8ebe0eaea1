import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./support/app.js";
import {
  checkoutSession,
  recordCheckout,
  signedDelivery,
  stripeEvent,
  webhookSecret,
} from "./support/billing-fixtures.js";

// GET /api/purchases and each purchase's receipt page: the person's own credited purchases only,
// read under row-level security, so someone else's payment id finds nothing.

let test: TestApp;
beforeAll(async () => {
  test = await createTestApp({ STRIPE_WEBHOOK_SECRET: webhookSecret });
});
afterAll(() => test.close());

const get = (path: string, cookie?: string) => test.app.request(path, { headers: cookie ? { cookie } : {} });

async function buy(userId: string, amountCents: number) {
  const session = await recordCheckout(test.database.pool, checkoutSession({ userId, amountCents }));
  const delivered = await test.app.request(
    "/api/stripe/webhook",
    signedDelivery(stripeEvent("checkout.session.completed", session)),
  );
  expect(delivered.status).toBe(200);
  return session;
}

describe("purchases and receipts", () => {
  it("lists credited purchases newest first with a receipt each, and leaves out unpaid sessions", async () => {
    const { cookie, user } = await test.signUp();
    const first = await buy(user.id, 300);
    const second = await buy(user.id, 450);
    await recordCheckout(test.database.pool, checkoutSession({ userId: user.id, amountCents: 900 }));

    const response = await get("/api/purchases", cookie);
    expect(response.status).toBe(200);
    const { purchases } = await response.json();
    expect(purchases.map((purchase: { id: string }) => purchase.id)).toEqual([second.id, first.id]);
    expect(purchases[0]).toMatchObject({
      amountCents: 450,
      currency: "usd",
      refundedCents: 0,
      receiptUrl: `/api/purchases/${second.id}/receipt`,
    });
    expect(purchases[0].reference).toMatch(/^(pi|cs)_/);

    const receipt = await get(purchases[0].receiptUrl, cookie);
    expect(receipt.status).toBe(200);
    expect(receipt.headers.get("content-type")).toContain("text/html");
    const page = await receipt.text();
    expect(page).toContain("$4.50");
    expect(page).toContain(purchases[0].reference);
    expect(page).toContain(user.email);
  });

  it("finds nothing of another person's, and needs a session", async () => {
    const owner = await test.signUp();
    const session = await buy(owner.user.id, 300);
    const stranger = await test.signUp();
    expect((await (await get("/api/purchases", stranger.cookie)).json()).purchases).toEqual([]);
    const peek = await get(`/api/purchases/${session.id}/receipt`, stranger.cookie);
    expect(peek.status).toBe(404);
    expect((await peek.json()).error.code).toBe("PAYMENT_NOT_FOUND");
    expect((await get("/api/purchases")).status).toBe(401);
    expect((await get(`/api/purchases/${session.id}/receipt`)).status).toBe(401);
  });
});
