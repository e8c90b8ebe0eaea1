import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hono } from "hono";
import type { SessionUser } from "../../src/auth/types.js";
import { verifyEmailCommand } from "../../src/cli/commands.js";
import { type Config, loadConfig } from "../../src/config.js";
import { createApp } from "../../src/http/app.js";
import { createLedger } from "../../src/ledger/index.js";
import type { Ledger } from "../../src/ledger/types.js";
import { createLogger, type Logger } from "../../src/logger.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

export type SignedUp = { cookie: string; user: SessionUser };

export type TestApp = {
  app: Hono;
  database: TestDatabase;
  config: Config;
  ledger: Ledger;
  /** Signs a new person up (a fresh random email unless given) and returns their session cookie. */
  signUp: (email?: string) => Promise<SignedUp>;
  /** Marks the account's email verified the way an operator does: `npm run cli -- verify-email`. */
  verifyEmail: (email: string) => Promise<void>;
  /** `signUp`, then `verifyEmail`: how a test makes an admin (its email also in ADMIN_EMAILS). */
  signUpVerified: (email?: string) => Promise<SignedUp>;
  close: () => Promise<void>;
};

export const testPassword = "correct horse battery staple";

/** `name=value; name=value` for a `Cookie` header, from a response's `Set-Cookie` headers. */
export function cookieFrom(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(";")[0])
    .filter((pair) => pair && !pair.endsWith("="))
    .join("; ");
}

export function uniqueEmail(prefix = "user"): string {
  return `${prefix}-${randomBytes(5).toString("hex")}@example.com`;
}

/**
 * The whole app on a database of its own, called with `app.request(...)`: real handlers, real
 * PostgreSQL, real Better Auth. Sign-in rate limiting stays on but is set high so suites can sign
 * many people up; pass `AUTH_RATE_LIMIT_MAX` to test it. The credits account of a person is created
 * by their first signed-in `/api` request (GET /api/me, for example), as in production.
 *
 * @example
 * const test = await createTestApp({ ADMIN_EMAILS: "boss@example.com" });
 * const { cookie, user } = await test.signUp();
 * const me = await test.app.request("/api/me", { headers: { cookie } });
 * await test.close();
 */
export async function createTestApp(
  environmentOverrides: Record<string, string> = {},
  options: { logger?: Logger } = {},
): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: "test",
    DATA_DIR: join(tmpdir(), "coinslot-test-app"),
    AUTH_SECRET: "test-auth-secret-that-is-long-enough-0123456789",
    STRIPE_WEBHOOK_SECRET: "whsec_test_app_secret",
    AUTH_RATE_LIMIT_MAX: "100000",
    LOG_LEVEL: "silent",
    ...environmentOverrides,
    DATABASE_URL: database.url,
  });
  const logger = options.logger ?? createLogger(config.logLevel);
  const ledger = createLedger({
    pool: database.pool,
    holdTtlSeconds: config.holdTtlSeconds,
    lotDays: config,
  });
  const app = createApp({ config, pool: database.pool, logger, ledger });

  const signUp = async (email = uniqueEmail()): Promise<SignedUp> => {
    const response = await app.request("/api/auth/sign-up/email", {
      method: "POST",
      headers: { "content-type": "application/json", origin: new URL(config.appUrl).origin },
      body: JSON.stringify({ email, password: testPassword, name: email.split("@")[0] }),
    });
    if (response.status !== 200) {
      throw new Error(`sign-up of ${email} failed with ${response.status}: ${await response.text()}`);
    }
    const body = (await response.json()) as {
      user: { id: string; email: string; name: string; emailVerified: boolean };
    };
    const user: SessionUser = {
      id: body.user.id,
      email: body.user.email,
      name: body.user.name,
      emailVerified: body.user.emailVerified,
      isAdmin: body.user.emailVerified && config.adminEmails.includes(body.user.email.toLowerCase()),
    };
    return { cookie: cookieFrom(response), user };
  };

  const verifyEmail = async (email: string): Promise<void> => {
    const outcome = await verifyEmailCommand(
      { pool: database.pool, ledger, currency: config.currency },
      email,
    );
    if (outcome.code !== 0) throw new Error(`verify-email ${email} failed: ${outcome.output}`);
  };

  const signUpVerified = async (email = uniqueEmail()): Promise<SignedUp> => {
    const signedUp = await signUp(email);
    await verifyEmail(email);
    const isAdmin = config.adminEmails.includes(signedUp.user.email.toLowerCase());
    return { cookie: signedUp.cookie, user: { ...signedUp.user, isAdmin } };
  };

  return {
    app,
    database,
    config,
    ledger,
    signUp,
    verifyEmail,
    signUpVerified,
    close: () => database.drop(),
  };
}
