import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool } from "../src/db/pool.js";
import { createApp } from "../src/http/app.js";
import { createLogger } from "../src/logger.js";
import { cookieFrom, createTestApp, type TestApp, testPassword, uniqueEmail } from "./support/app.js";

const origin = "http://localhost:3000";
const evil = "https://evil.example";

function post(app: TestApp["app"], path: string, body: unknown, headers: Record<string, string> = {}) {
  return app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", origin, ...headers },
    body: JSON.stringify(body),
  });
}

/**
 * A real pino logger whose lines land in memory, to read the warnings about CLIENT_IP_HEADER (Better
 * Auth's own warnings, such as "User not found" at a failed sign-in, are left out).
 */
function capturedLogger() {
  const lines: string[] = [];
  const logger = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
  const warnings = () =>
    lines
      .map((line) => JSON.parse(line) as { level: number; msg: string; setting?: string })
      .filter((entry) => entry.level === 40 && entry.setting === "CLIENT_IP_HEADER")
      .map((entry) => entry.msg);
  return { logger, warnings };
}

let test: TestApp;
beforeAll(async () => {
  test = await createTestApp();
});
afterAll(() => test.close());

describe("the session gate on /api/*", () => {
  it.each([
    ["GET", "/api/me"],
    ["GET", "/api/ledger"],
    ["POST", "/api/checkout"],
    ["POST", "/api/chat"],
    ["GET", "/api/admin/accounts"],
    ["GET", "/api/no-such-route"],
  ])("%s %s answers 401 UNAUTHENTICATED without a session", async (method, path) => {
    const response = await test.app.request(path, {
      method,
      headers: { "content-type": "application/json" },
      ...(method === "POST" && { body: "{}" }),
    });
    expect(response.status).toBe(401);
    expect((await response.json()).error.code).toBe("UNAUTHENTICATED");
  });

  it("refuses a forged session cookie", async () => {
    const response = await test.app.request("/api/me", {
      headers: { cookie: "coinslot.session_token=forged.c2lnbmF0dXJl" },
    });
    expect(response.status).toBe(401);
  });

  it("leaves health, public settings and Stripe's webhook open", async () => {
    expect((await test.app.request("/healthz")).status).toBe(200);
    expect((await test.app.request("/api/config")).status).not.toBe(401);
    // Stripe sends no session and no Origin: the webhook answers on its own terms (bad signature).
    const webhook = await test.app.request("/api/stripe/webhook", {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": "t=1,v1=bad", origin: evil },
      body: "{}",
    });
    expect(webhook.status).toBe(400);
  });
});

describe("cross-site requests", () => {
  it.each([
    ["another site's Origin", { origin: evil }],
    ["an opaque null Origin", { origin: "null" }],
    ["Sec-Fetch-Site: cross-site without Origin", { origin: "", "sec-fetch-site": "cross-site" }],
  ])("refuses sign-in with %s", async (_, headers) => {
    const { user } = await test.signUp();
    const cleaned = Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== ""));
    const response = await test.app.request("/api/auth/sign-in/email", {
      method: "POST",
      headers: { "content-type": "application/json", ...cleaned },
      body: JSON.stringify({ email: user.email, password: testPassword }),
    });
    expect(response.status).toBe(403);
    expect((await response.json()).error.code).toBe("CROSS_SITE_REQUEST");
    expect(cookieFrom(response)).toBe("");
  });

  it("refuses a cross-site POST to an app route even with a valid session cookie", async () => {
    const { cookie } = await test.signUp();
    const body = { amountCents: 300 };
    const crossSite = await post(test.app, "/api/checkout", body, { cookie, origin: evil });
    expect(crossSite.status).toBe(403);
    expect((await crossSite.json()).error.code).toBe("CROSS_SITE_REQUEST");
    const sameSite = await post(test.app, "/api/checkout", body, { cookie });
    expect(sameSite.status).toBe(200);
  });

  it("refuses a cross-site sign-up and sign-out", async () => {
    const signUp = await post(
      test.app,
      "/api/auth/sign-up/email",
      { email: uniqueEmail(), password: testPassword, name: "X" },
      { origin: evil },
    );
    expect(signUp.status).toBe(403);
    const { cookie } = await test.signUp();
    const signOut = await post(test.app, "/api/auth/sign-out", {}, { cookie, origin: evil });
    expect(signOut.status).toBe(403);
    expect((await test.app.request("/api/me", { headers: { cookie } })).status).toBe(200);
  });
});

describe("oversized bodies", () => {
  it("refuses a sign-in body over 16 KiB before reading it into Better Auth", async () => {
    const response = await post(test.app, "/api/auth/sign-in/email", {
      email: uniqueEmail(),
      password: "x".repeat(20_000),
    });
    expect(response.status).toBe(413);
    expect((await response.json()).error.code).toBe("PAYLOAD_TOO_LARGE");
  });
});

describe("session cookies", () => {
  it("are HttpOnly and SameSite=Lax, not Secure on an http APP_URL", async () => {
    const response = await post(test.app, "/api/auth/sign-up/email", {
      email: uniqueEmail(),
      password: testPassword,
      name: "Cookie",
    });
    const session = response.headers
      .getSetCookie()
      .find((cookie) => cookie.startsWith("coinslot.session_token="));
    expect(session).toBeDefined();
    expect(session).toMatch(/;\s*HttpOnly/i);
    expect(session).toMatch(/;\s*SameSite=Lax/i);
    expect(session).not.toMatch(/;\s*Secure/i);
  });

  it("are Secure (and __Secure- prefixed) when APP_URL is https", async () => {
    const secure = await createTestApp({ APP_URL: "https://credits.example.com" });
    try {
      const response = await post(
        secure.app,
        "/api/auth/sign-up/email",
        { email: uniqueEmail(), password: testPassword, name: "Secure" },
        { origin: "https://credits.example.com" },
      );
      expect(response.status).toBe(200);
      const session = response.headers.getSetCookie().find((cookie) => cookie.includes("session_token="));
      expect(session).toMatch(/^__Secure-coinslot\.session_token=/);
      expect(session).toMatch(/;\s*Secure/i);
      expect(session).toMatch(/;\s*HttpOnly/i);
      expect(session).toMatch(/;\s*SameSite=Lax/i);
      const me = await secure.app.request("/api/me", { headers: { cookie: cookieFrom(response) } });
      expect(me.status).toBe(200);
    } finally {
      await secure.close();
    }
  });
});

describe("the database behind sign-in", () => {
  it.each(["anon", "authenticated"])("keeps Better Auth's tables out of reach of %s", async (role) => {
    for (const table of ["user", "session", "account", "verification", "rateLimit"]) {
      const client = await test.database.pool.connect();
      try {
        await client.query("begin");
        await client.query(`set local role ${role}`);
        await expect(client.query(`select * from auth_coinslot."${table}"`)).rejects.toThrow(
          /permission denied/,
        );
      } finally {
        await client.query("rollback");
        client.release();
      }
    }
  });
});

describe("rate limiting of sign-in and sign-up", () => {
  const attempt = (app: TestApp["app"], email: string, headers: Record<string, string> = {}) =>
    post(app, "/api/auth/sign-in/email", { email, password: "wrong password" }, headers);

  it("answers 429 with when to retry, counted in the database so every server process shares it", async () => {
    const limited = await createTestApp({ AUTH_RATE_LIMIT_MAX: "3", AUTH_RATE_LIMIT_WINDOW_SECONDS: "60" });
    // A second server on the same database, as a second process would be.
    const pool = createPool({ url: limited.database.url, logger: createLogger("silent") });
    const other = createApp({
      config: limited.config,
      pool,
      logger: createLogger("silent"),
      ledger: limited.ledger,
    });
    try {
      const email = uniqueEmail();
      expect((await attempt(limited.app, email)).status).toBe(401);
      expect((await attempt(other, email)).status).toBe(401);
      expect((await attempt(limited.app, email)).status).toBe(401);
      const refused = await attempt(other, email);
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const body = await refused.json();
      expect(body.error.code).toBe("RATE_LIMITED");
      expect(body.error.message).toContain(`${retryAfter} seconds`);
      const rows = await limited.database.pool.query<{ count: number }>(
        `select count from auth_coinslot."rateLimit" where key like '%sign-in%'`,
      );
      expect(rows.rows).toEqual([{ count: 3 }]);

      // Sign-up has its own count, and is limited the same way.
      for (let index = 0; index < 3; index++) {
        const response = await post(limited.app, "/api/auth/sign-up/email", {
          email: uniqueEmail(),
          password: testPassword,
          name: "Many",
        });
        expect(response.status).toBe(200);
      }
      const fourth = await post(other, "/api/auth/sign-up/email", {
        email: uniqueEmail(),
        password: testPassword,
        name: "Many",
      });
      expect(fourth.status).toBe(429);
    } finally {
      await pool.end();
      await limited.close();
    }
  });

  it("warns once per process when X-Forwarded-For arrives and CLIENT_IP_HEADER is unset", async () => {
    const log = capturedLogger();
    const proxied = await createTestApp({}, { logger: log.logger });
    try {
      expect((await attempt(proxied.app, uniqueEmail())).status).toBe(401);
      expect(log.warnings()).toEqual([]);
      for (const address of ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) {
        const response = await attempt(proxied.app, uniqueEmail(), { "x-forwarded-for": address });
        expect(response.status).toBe(401);
      }
      expect(log.warnings()).toEqual([
        expect.stringMatching(
          /X-Forwarded-For.*CLIENT_IP_HEADER is unset.*set CLIENT_IP_HEADER=x-forwarded-for/,
        ),
      ]);
    } finally {
      await proxied.close();
    }
  });

  it("counts per client address from the trusted proxy header, which clients cannot override", async () => {
    const log = capturedLogger();
    const limited = await createTestApp(
      { AUTH_RATE_LIMIT_MAX: "2", CLIENT_IP_HEADER: "x-forwarded-for" },
      { logger: log.logger },
    );
    try {
      const email = uniqueEmail();
      // The proxy appends the address it saw; the client-written part before it is ignored.
      const from = (forged: string) => ({
        "x-forwarded-for": `${forged}, 203.0.113.7`,
        "x-coinslot-client-address": forged,
      });
      expect((await attempt(limited.app, email, from("198.51.100.1"))).status).toBe(401);
      expect((await attempt(limited.app, email, from("198.51.100.2"))).status).toBe(401);
      expect((await attempt(limited.app, email, from("198.51.100.3"))).status).toBe(429);
      const elsewhere = { "x-forwarded-for": "203.0.113.8" };
      expect((await attempt(limited.app, email, elsewhere)).status).toBe(401);
      // Configured: nothing to warn about.
      expect(log.warnings()).toEqual([]);
    } finally {
      await limited.close();
    }
  });
});
