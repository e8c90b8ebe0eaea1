import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp, uniqueEmail } from "./support/app.js";
import {
  checkoutSession,
  recordCheckout,
  signedDelivery,
  stripeEvent,
  webhookSecret,
} from "./support/billing-fixtures.js";

const admin = uniqueEmail("boss");

let test: TestApp;
beforeAll(async () => {
  test = await createTestApp({
    ADMIN_EMAILS: `someone-else@example.com, ${admin.toUpperCase()}`,
    STRIPE_WEBHOOK_SECRET: webhookSecret,
  });
});
afterAll(() => test.close());

const me = (cookie: string) => test.app.request("/api/me", { headers: { cookie } });

async function entriesOf(userId: string) {
  const result = await test.database.pool.query<{ kind: string; amount_cents: number }>(
    "select kind, amount_cents from credits.entries where user_id = $1 order by id",
    [userId],
  );
  return result.rows;
}

describe("the credits account opened by the first signed-in request", () => {
  it("does not exist before the first signed-in request", async () => {
    const { user } = await test.signUp();
    const accounts = await test.database.pool.query("select 1 from credits.accounts where user_id = $1", [
      user.id,
    ]);
    expect(accounts.rowCount).toBe(0);
  });

  it("gets exactly one signup bonus when 30 first requests arrive together", async () => {
    const { cookie, user } = await test.signUp();
    const responses = await Promise.all(Array.from({ length: 30 }, () => me(cookie)));
    expect(responses.map((response) => response.status)).toEqual(Array(30).fill(200));
    for (const response of responses) {
      expect(await response.json()).toMatchObject({ balanceCents: 50, heldCents: 0 });
    }
    expect(await entriesOf(user.id)).toEqual([{ kind: "signup_bonus", amount_cents: 50 }]);
    const account = await test.database.pool.query(
      "select email, balance_cents from credits.accounts where user_id = $1",
      [user.id],
    );
    expect(account.rows).toEqual([{ email: user.email, balance_cents: 50 }]);
  });

  it("gets the bonus once when a payment arrived before the first signed-in request", async () => {
    const { cookie, user } = await test.signUp();
    const session = await recordCheckout(
      test.database.pool,
      checkoutSession({ userId: user.id, amountCents: 300 }),
    );
    const delivered = await test.app.request(
      "/api/stripe/webhook",
      signedDelivery(stripeEvent("checkout.session.completed", session)),
    );
    expect(delivered.status).toBe(200);
    const body = await (await me(cookie)).json();
    expect(body.balanceCents).toBe(350);
    const kinds = (await entriesOf(user.id)).map((entry) => entry.kind).sort();
    expect(kinds).toEqual(["purchase", "signup_bonus"]);
  });

  it("starts with NEW_USER_CREDITS_CENTS", async () => {
    const generous = await createTestApp({ NEW_USER_CREDITS_CENTS: "125" });
    try {
      const { cookie } = await generous.signUp();
      expect(
        (await (await generous.app.request("/api/me", { headers: { cookie } })).json()).balanceCents,
      ).toBe(125);
    } finally {
      await generous.close();
    }
  });

  it("shows each person only their own balance", async () => {
    const rich = await test.signUp();
    const poor = await test.signUp();
    await me(rich.cookie);
    await me(poor.cookie);
    await test.ledger.grant({
      userId: rich.user.id,
      amountCents: 1_000,
      kind: "adjustment",
      idempotencyKey: "rich",
    });
    expect((await (await me(rich.cookie)).json()).balanceCents).toBe(1_050);
    expect((await (await me(poor.cookie)).json()).balanceCents).toBe(50);
  });
});

describe("admins", () => {
  it("an email in ADMIN_EMAILS (any case) is admin only once verified; another never is", async () => {
    const boss = await test.signUp(admin);
    const other = await test.signUp();
    const adminPage = (cookie: string) => test.app.request("/api/admin/accounts", { headers: { cookie } });
    // Signed up with a password: nobody has checked that this person owns the address yet.
    expect((await (await me(boss.cookie)).json()).user.isAdmin).toBe(false);
    expect(boss.user.isAdmin).toBe(false);
    expect((await adminPage(boss.cookie)).status).toBe(403);

    await test.verifyEmail(admin.toUpperCase());
    await test.verifyEmail(other.user.email);
    // The session made before the verification sees it at once: nothing caches the user.
    expect((await (await me(boss.cookie)).json()).user.isAdmin).toBe(true);
    expect((await (await me(other.cookie)).json()).user.isAdmin).toBe(false);
    expect((await adminPage(other.cookie)).status).toBe(403);
    expect((await adminPage(boss.cookie)).status).toBe(200);
  });
});

describe("Google sign-in", () => {
  const startGoogle = (app: TestApp["app"]) =>
    app.request("/api/auth/sign-in/social", {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://localhost:3000" },
      body: JSON.stringify({ provider: "google", callbackURL: "/" }),
    });

  it("is not offered when it is not configured", async () => {
    const response = await startGoogle(test.app);
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe("PROVIDER_NOT_FOUND");
  });

  it("sends people to Google with the callback URL derived from APP_URL when configured", async () => {
    const withGoogle = await createTestApp({
      GOOGLE_CLIENT_ID: "client-id.apps.googleusercontent.com",
      GOOGLE_CLIENT_SECRET: "client-secret",
    });
    try {
      const response = await startGoogle(withGoogle.app);
      expect(response.status).toBe(200);
      const { url } = (await response.json()) as { url: string };
      const google = new URL(url);
      expect(google.hostname).toBe("accounts.google.com");
      expect(google.searchParams.get("client_id")).toBe("client-id.apps.googleusercontent.com");
      expect(google.searchParams.get("redirect_uri")).toBe("http://localhost:3000/api/auth/callback/google");
    } finally {
      await withGoogle.close();
    }
  });
});
