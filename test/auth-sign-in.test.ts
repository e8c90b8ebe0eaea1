import { hashPassword as scryptHash } from "better-auth/crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cookieFrom, createTestApp, type TestApp, testPassword, uniqueEmail } from "./support/app.js";

let test: TestApp;
beforeAll(async () => {
  test = await createTestApp();
});
afterAll(() => test.close());

const origin = "http://localhost:3000";

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return test.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", origin, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const signIn = (email: string, password: string, headers: Record<string, string> = {}) =>
  post("/api/auth/sign-in/email", { email, password }, headers);
const me = (cookie: string) => test.app.request("/api/me", { headers: { cookie } });
const sessionToken = (cookie: string) => cookie.match(/session_token=([^.;]+)/)?.[1];

describe("sign-up and sign-in with email and password", () => {
  it("signs up, then /api/me shows the person with the starter credits", async () => {
    const email = uniqueEmail("Mixed.Case").replace("example", "Example");
    const response = await post("/api/auth/sign-up/email", { email, password: testPassword, name: "Ada" });
    expect(response.status).toBe(200);
    const cookie = cookieFrom(response);
    const body = await (await me(cookie)).json();
    expect(body).toEqual({
      user: {
        id: expect.any(String),
        email: email.toLowerCase(),
        name: "Ada",
        emailVerified: false,
        isAdmin: false,
      },
      balanceCents: 50,
      heldCents: 0,
      // The starter credit is promotional: it expires after PROMO_CREDIT_DAYS.
      nextExpiry: { amountCents: 50, expiresAt: expect.any(String) },
      spendLimitCents: null,
      monthUsageCents: null,
    });
  });

  it("signs in with the right password and gets a new session token each time", async () => {
    const { cookie: signUpCookie, user } = await test.signUp();
    const first = await signIn(user.email, testPassword);
    expect(first.status).toBe(200);
    // Signing in while carrying an old session still issues a fresh token (no session fixation).
    const second = await signIn(user.email, testPassword, { cookie: signUpCookie });
    expect(second.status).toBe(200);
    const tokens = [signUpCookie, cookieFrom(first), cookieFrom(second)].map(sessionToken);
    expect(new Set(tokens).size).toBe(3);
    expect((await (await me(cookieFrom(second))).json()).user.id).toBe(user.id);
  });

  it("stores new passwords as argon2id with OWASP's parameters, never in clear", async () => {
    const { user } = await test.signUp();
    const stored = await test.database.pool.query<{ password: string }>(
      `select password from auth_coinslot.account where "userId" = $1 and "providerId" = 'credential'`,
      [user.id],
    );
    expect(stored.rows[0]?.password).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(stored.rows[0]?.password).not.toContain(testPassword);
  });

  it("still signs in people whose password was stored with Better Auth's scrypt, and upgrades the hash", async () => {
    const { user } = await test.signUp();
    await test.database.pool.query(
      `update auth_coinslot.account set password = $2 where "userId" = $1 and "providerId" = 'credential'`,
      [user.id, await scryptHash("an older password")],
    );
    expect((await signIn(user.email, testPassword)).status).toBe(401);
    expect((await signIn(user.email, "an older password")).status).toBe(200);
    // That sign-in was the one moment the password was known: the hash is now argon2id.
    const stored = await test.database.pool.query<{ password: string }>(
      `select password from auth_coinslot.account where "userId" = $1 and "providerId" = 'credential'`,
      [user.id],
    );
    expect(stored.rows[0]?.password).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await signIn(user.email, "an older password")).status).toBe(200);
  });

  it("answers a wrong password and an unknown email with the same generic 401", async () => {
    const { user } = await test.signUp();
    const wrongPassword = await signIn(user.email, "not the password");
    const unknownEmail = await signIn(uniqueEmail("nobody"), "not the password");
    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(401);
    const [wrongBody, unknownBody] = [await wrongPassword.json(), await unknownEmail.json()];
    expect(wrongBody).toEqual(unknownBody);
    expect(wrongBody.error.code).toBe("INVALID_EMAIL_OR_PASSWORD");
    expect(cookieFrom(wrongPassword)).not.toContain("session_token");
  });

  it("refuses a second account with the same email, whatever its case", async () => {
    const { user } = await test.signUp();
    const again = await post("/api/auth/sign-up/email", {
      email: user.email.toUpperCase(),
      password: "another password",
      name: "Copy",
    });
    expect(again.status).toBe(422);
    expect((await again.json()).error.code).toBe("EMAIL_ALREADY_REGISTERED");
  });
});

describe("malformed sign-up and sign-in requests", () => {
  it.each([
    ["too short", "seven77", "at least 8"],
    ["too long", "x".repeat(129), "at most 128"],
  ])("refuses a password %s with 400 naming the field", async (_, password, words) => {
    const response = await post("/api/auth/sign-up/email", { email: uniqueEmail(), password, name: "Short" });
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.code).toBe("INVALID_REQUEST");
    expect(body.error.fields).toEqual(["password"]);
    expect(body.error.message).toContain(words);
  });

  it("accepts passwords of exactly 8 and 128 characters", async () => {
    for (const password of ["p".repeat(8), "p".repeat(128)]) {
      const response = await post("/api/auth/sign-up/email", {
        email: uniqueEmail(),
        password,
        name: "Edge",
      });
      expect(response.status).toBe(200);
    }
  });

  it.each(["/api/auth/sign-up/email", "/api/auth/sign-in/email"])(
    "answers malformed JSON on %s with 400",
    async (path) => {
      const response = await post(path, '{"email": "a@example.com", ');
      expect(response.status).toBe(400);
      const body = await response.json();
      expect(body.error.code).toBe("INVALID_JSON");
      expect(body.error.fields).toEqual(["body"]);
    },
  );

  it("names each missing field", async () => {
    const signUp = await post("/api/auth/sign-up/email", { email: uniqueEmail() });
    expect(signUp.status).toBe(400);
    const signUpError = (await signUp.json()).error;
    expect(signUpError.fields).toEqual(["password", "name"]);
    expect(signUpError.message).toContain("password: is required");

    const signIn = await post("/api/auth/sign-in/email", { password: "whatever1" });
    expect(signIn.status).toBe(400);
    expect((await signIn.json()).error.fields).toEqual(["email"]);
  });

  it("names a field of the wrong type", async () => {
    const response = await post("/api/auth/sign-up/email", {
      email: uniqueEmail(),
      password: 12345678,
      name: "N",
    });
    expect(response.status).toBe(400);
    const error = (await response.json()).error;
    expect(error.fields).toEqual(["password"]);
    expect(error.message).toContain("password: must be text");
  });
});

describe("session lifetime", () => {
  it("extends a session in use and hands the browser the renewed cookie", async () => {
    const { cookie } = await test.signUp();
    const token = sessionToken(cookie);
    await test.database.pool.query(
      `update auth_coinslot.session set "expiresAt" = now() + interval '1 hour' where token = $1`,
      [token],
    );
    const response = await me(cookie);
    expect(response.status).toBe(200);
    const renewed = response.headers.getSetCookie().find((value) => value.includes("session_token="));
    expect(renewed).toMatch(/Max-Age=604800/);
    expect(renewed).toMatch(/;\s*HttpOnly/i);
    const row = await test.database.pool.query<{ days: number }>(
      `select extract(epoch from "expiresAt" - now()) / 86400 as days from auth_coinslot.session where token = $1`,
      [token],
    );
    expect(Number(row.rows[0]?.days)).toBeGreaterThan(6);
  });

  it("refuses an expired session", async () => {
    const { cookie } = await test.signUp();
    await test.database.pool.query(
      `update auth_coinslot.session set "expiresAt" = now() - interval '1 second' where token = $1`,
      [sessionToken(cookie)],
    );
    expect((await me(cookie)).status).toBe(401);
  });
});

describe("sign-out", () => {
  it("invalidates the session on the server, so the old cookie no longer works", async () => {
    const { cookie } = await test.signUp();
    expect((await me(cookie)).status).toBe(200);
    const out = await post("/api/auth/sign-out", {}, { cookie });
    expect(out.status).toBe(200);
    const token = sessionToken(cookie);
    const rows = await test.database.pool.query("select 1 from auth_coinslot.session where token = $1", [
      token,
    ]);
    expect(rows.rowCount).toBe(0);
    // The same cookie replayed (as a thief who copied it would) is refused.
    const after = await me(cookie);
    expect(after.status).toBe(401);
    expect((await after.json()).error.code).toBe("UNAUTHENTICATED");
  });
});
