import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../src/db/embedded.js";
import { cookieFrom, testPassword, uniqueEmail } from "./support/app.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type RunningServer, startServer } from "./support/process.js";

// The real server process over real HTTP: Better Auth's tables come from the migrations applied at
// start, and the rate limit keys on the TCP peer's address, which only a real socket has.
let database: TestDatabase;
let server: RunningServer;
let base: string;

beforeAll(async () => {
  database = await createTestDatabase({ migrated: false });
  const port = await freePort();
  base = `http://localhost:${port}`;
  server = await startServer({
    DATA_DIR: mkdtempSync(join(tmpdir(), "coinslot-auth-http-")),
    PORT: String(port),
    DATABASE_URL: database.url,
    AUTH_RATE_LIMIT_MAX: "2",
  });
});

afterAll(async () => {
  server?.child.kill("SIGTERM");
  await server?.exited;
  await database?.drop();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: base, ...headers },
    body: JSON.stringify(body),
  });
}

describe("sign-in on the running server", () => {
  it("prints the Google callback URL derived from APP_URL at start", async () => {
    await expect.poll(() => server.output()).toContain(`${base}/api/auth/callback/google`);
  });

  it("signs up over HTTP and serves /api/me with the session cookie", async () => {
    const email = uniqueEmail();
    const signUp = await post("/api/auth/sign-up/email", { email, password: testPassword, name: "Real" });
    expect(signUp.status).toBe(200);
    const me = await fetch(`${base}/api/me`, { headers: { cookie: cookieFrom(signUp) } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ user: { email }, balanceCents: 50 });
  });

  it("rate-limits sign-in by the client's real address, which a forged header cannot change", async () => {
    const attempt = (forged: string) =>
      post(
        "/api/auth/sign-in/email",
        { email: uniqueEmail(), password: "wrong password" },
        { "x-forwarded-for": forged, "x-coinslot-client-address": forged },
      );
    expect((await attempt("198.51.100.1")).status).toBe(401);
    expect((await attempt("198.51.100.2")).status).toBe(401);
    const refused = await attempt("198.51.100.3");
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const keys = await database.pool.query<{ key: string }>(`select key from auth_coinslot."rateLimit"`);
    expect(keys.rows.map((row) => row.key).join(" ")).toMatch(/127\.0\.0\.1|::1/);
  });
});
