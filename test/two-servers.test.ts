import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../src/db/embedded.js";
import { checkoutSession, recordCheckout, signedDelivery, stripeEvent } from "./support/billing-fixtures.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { findInvariantViolations } from "./support/ledger-invariants.js";
import { type RunningServer, startServer } from "./support/process.js";

// Two server processes in production mode on one database, as behind a load balancer. Their logs
// are kept and scanned at the end for every secret this run used.

const appUrl = "https://coinslot.test";
const secrets = {
  AUTH_SECRET: `auth-${randomBytes(24).toString("hex")}`,
  STRIPE_WEBHOOK_SECRET: `whsec_${randomBytes(18).toString("hex")}`,
  password: `pw-${randomBytes(12).toString("hex")}`,
};
const rateLimitMax = 6;

let database: TestDatabase;
let servers: { url: string; process: RunningServer }[] = [];
const sessionTokens: string[] = [];

async function post(base: string, path: string, body: unknown, cookie = "") {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: appUrl, cookie },
    body: JSON.stringify(body),
  });
}

function cookieOf(response: Response): string {
  const pairs = response.headers.getSetCookie().map((cookie) => cookie.split(";")[0] ?? "");
  for (const pair of pairs) sessionTokens.push(decodeURIComponent(pair.split("=")[1] ?? ""));
  return pairs.filter((pair) => !pair.endsWith("=")).join("; ");
}

async function signUp(base: string, email: string) {
  const response = await post(base, "/api/auth/sign-up/email", {
    email,
    password: secrets.password,
    name: "Two",
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { user: { id: string } };
  return { id: body.user.id, cookie: cookieOf(response) };
}

async function me(base: string, cookie: string) {
  const response = await fetch(`${base}/api/me`, { headers: { cookie } });
  expect(response.status).toBe(200);
  return (await response.json()) as { balanceCents: number; heldCents: number };
}

async function chat(base: string, cookie: string, text: string) {
  const id = `msg-${randomBytes(6).toString("hex")}`;
  const response = await post(
    base,
    "/api/chat",
    {
      id: `chat-${id}`,
      trigger: "submit-message",
      messages: [{ id, role: "user", parts: [{ type: "text", text }] }],
    },
    cookie,
  );
  await response.text();
  return response.status;
}

beforeAll(async () => {
  database = await createTestDatabase({ migrated: false });
  const environment = {
    NODE_ENV: "production",
    APP_URL: appUrl,
    DATABASE_URL: database.url,
    AUTH_SECRET: secrets.AUTH_SECRET,
    STRIPE_WEBHOOK_SECRET: secrets.STRIPE_WEBHOOK_SECRET,
    AUTH_RATE_LIMIT_MAX: String(rateLimitMax),
    AUTH_RATE_LIMIT_WINDOW_SECONDS: "600",
    HOLD_TTL_SECONDS: "10",
    NEW_USER_CREDITS_CENTS: "50",
    // Mail is not what this suite is about: nothing listens there, so messages wait in the outbox,
    // and sign-up signs in at once.
    SMTP_URL: "smtp://127.0.0.1:9",
    REQUIRE_EMAIL_VERIFICATION: "false",
  };
  const ports = [await freePort(), await freePort()];
  // Both start at once on an empty database: the migration lock must make one wait for the other.
  const started = await Promise.all(
    ports.map((port) =>
      startServer({
        ...environment,
        PORT: String(port),
        DATA_DIR: mkdtempSync(join(tmpdir(), "coinslot-two-")),
      }),
    ),
  );
  servers = started.map((process, index) => ({ url: `http://127.0.0.1:${ports[index]}`, process }));
});

afterAll(async () => {
  for (const server of servers) {
    server.process.child.kill("SIGTERM");
    expect(await server.process.exited).toBe(0);
  }
  await database.drop();
});

describe("two servers on one database", () => {
  it("share sessions, credit each payment once, meter chat and keep every invariant", async () => {
    const [a, b] = servers.map((server) => server.url) as [string, string];
    const people = await Promise.all(
      Array.from({ length: 6 }, (_, index) => signUp(index % 2 ? a : b, `two-${index}@example.com`)),
    );
    // First requests race on both servers: each account opens once with one bonus.
    await Promise.all(people.flatMap((person) => [me(a, person.cookie), me(b, person.cookie)]));

    // Stripe delivers each completion to both servers at once (a retry landing on the other node).
    // Each session recorded first, as checkout records the sessions it creates: only those credit.
    const sessions = await Promise.all(
      people.map((person) =>
        recordCheckout(database.pool, checkoutSession({ userId: person.id, amountCents: 300 })),
      ),
    );
    await Promise.all(
      sessions.flatMap((session) => {
        const event = stripeEvent("checkout.session.completed", session);
        const delivery = () => signedDelivery(event, { secret: secrets.STRIPE_WEBHOOK_SECRET });
        return [a, b].map(async (base) => {
          const response = await fetch(`${base}/api/stripe/webhook`, delivery());
          expect(response.status).toBe(200);
        });
      }),
    );
    for (const person of people) expect((await me(a, person.cookie)).balanceCents).toBe(350);

    // Chats through both servers at once, then nothing stays held.
    const statuses = await Promise.all(
      people.flatMap((person) =>
        [a, b, a, b].map((base, index) => chat(base, person.cookie, `question ${index}`)),
      ),
    );
    expect(statuses.every((status) => status === 200)).toBe(true);
    for (const person of people) {
      const after = await me(b, person.cookie);
      expect(after.heldCents).toBe(0);
      expect(after.balanceCents).toBeLessThan(350);
    }
    const purchases = await database.pool.query(
      "select count(*)::int as count, sum(amount_cents)::int as cents from credits.entries where kind = 'purchase'",
    );
    expect(purchases.rows[0]).toEqual({ count: 6, cents: 1800 });
    const bonuses = await database.pool.query(
      "select count(*)::int as count from credits.entries where kind = 'signup_bonus'",
    );
    expect(bonuses.rows[0].count).toBe(6);
    expect(await findInvariantViolations(database.pool)).toEqual([]);
  });

  it("count sign-in attempts together, so a second server is no way around the rate limit", async () => {
    const [a, b] = servers.map((server) => server.url) as [string, string];
    const statuses: number[] = [];
    for (let attempt = 0; attempt < rateLimitMax + 2; attempt += 1) {
      const response = await post(attempt % 2 ? a : b, "/api/auth/sign-in/email", {
        email: "two-0@example.com",
        password: "wrong password!",
      });
      statuses.push(response.status);
    }
    expect(statuses.slice(0, rateLimitMax - 1).every((status) => status === 401)).toBe(true);
    expect(statuses.slice(-2)).toEqual([429, 429]);
  });

  it("release an expired hold exactly once although both servers sweep", async () => {
    const { rows } = await database.pool.query(
      "select user_id from credits.accounts order by user_id limit 1",
    );
    const userId = rows[0].user_id as string;
    await database.pool.query(
      `update credits.accounts set held_cents = held_cents + 5 where user_id = $1;
       insert into credits.holds (user_id, amount_cents, idempotency_key, expires_at)
         values ($1, 5, 'two-servers-expired', now() - interval '1 second')`.replaceAll("$1", `'${userId}'`),
    );
    let status = "open";
    for (let waited = 0; waited < 40 && status === "open"; waited += 1) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const hold = await database.pool.query(
        "select status from credits.holds where idempotency_key = 'two-servers-expired'",
      );
      status = hold.rows[0].status;
    }
    expect(status).toBe("expired");
    expect(await findInvariantViolations(database.pool)).toEqual([]);
  });

  it("write JSON logs in which no secret, password or session token appears", () => {
    const logs = servers.map((server) => server.process.output()).join("\n");
    const databasePassword = new URL(database.url).password;
    for (const secret of [
      ...Object.values(secrets),
      databasePassword,
      ...sessionTokens.filter((token) => token.length > 16),
    ]) {
      expect(logs).not.toContain(secret);
    }
    const lines = logs.split("\n").filter((line) => line.trim() !== "");
    const plain = lines.filter((line) => !line.startsWith("{"));
    expect(plain.filter((line) => !/^(Coinslot is running at|Google sign-in|Mail )/.test(line))).toEqual([]);
    for (const line of lines.filter((line) => line.startsWith("{")))
      expect(() => JSON.parse(line)).not.toThrow();
  });
});
