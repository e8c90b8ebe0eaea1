import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

const smtp = "smtp://user:pass@smtp.example.com:587";

const dataDir = mkdtempSync(join(tmpdir(), "coinslot-config-"));

function problemsOf(environment: Record<string, string>): string[] {
  try {
    loadConfig({ DATA_DIR: dataDir, ...environment });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe("loadConfig", () => {
  it("has a working default for every setting", () => {
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config).toMatchObject({
      port: 3000,
      appUrl: "http://localhost:3000",
      databaseUrl: undefined,
      newUserCreditsCents: 50,
      topup: { minCents: 100, maxCents: 1000, stepCents: 50, defaultCents: 300 },
      currency: "usd",
      aiModel: "demo",
      creditMarkup: 4,
      maxOutputTokens: 1024,
      holdTtlSeconds: 300,
      promoCreditDays: 90,
      paidCreditDays: undefined,
    });
    expect(config.authSecret.length).toBeGreaterThanOrEqual(32);
    expect(config.stripeWebhookSecret).toMatch(/^whsec_/);
  });

  it("generates local secrets once and keeps them across starts", () => {
    const first = loadConfig({ DATA_DIR: dataDir });
    const second = loadConfig({ DATA_DIR: dataDir });
    expect(second.authSecret).toBe(first.authSecret);
    expect(second.stripeWebhookSecret).toBe(first.stripeWebhookSecret);
  });

  it("derives APP_URL from PORT and the Google model from a Gemini key", () => {
    const config = loadConfig({ DATA_DIR: dataDir, PORT: "8080", GEMINI_API_KEY: "key" });
    expect(config.appUrl).toBe("http://localhost:8080");
    expect(config.aiModel).toBe("google:gemini-2.0-flash");
    expect(config.googleApiKey).toBe("key");
  });

  it.each([
    [{ PORT: "abc" }, 'PORT must be a whole number from 1 to 65535, got "abc"'],
    [{ PORT: "70000" }, 'PORT must be a whole number from 1 to 65535, got "70000"'],
    [
      { APP_URL: "localhost" },
      'APP_URL must be an http:// or https:// URL such as http://localhost:3000, got "localhost"',
    ],
    [
      { DATABASE_URL: "mysql://x" },
      'DATABASE_URL must be a postgres:// or postgresql:// connection URL, got "mysql://x"',
    ],
    [
      { NEW_USER_CREDITS_CENTS: "-5" },
      'NEW_USER_CREDITS_CENTS must be a whole number from 0 to 100000000, got "-5"',
    ],
    [
      { NEW_USER_CREDITS_CENTS: "1.5" },
      'NEW_USER_CREDITS_CENTS must be a whole number from 0 to 100000000, got "1.5"',
    ],
    [{ CURRENCY: "dollars" }, 'CURRENCY must be a three-letter ISO currency code such as usd, got "dollars"'],
    [{ STRIPE_SECRET_KEY: "pk_test_abc" }, "STRIPE_SECRET_KEY must be a Stripe secret key"],
    [
      { STRIPE_WEBHOOK_SECRET: "secret" },
      'STRIPE_WEBHOOK_SECRET must be a Stripe webhook signing secret starting with whsec_, got "secret"',
    ],
    [
      { AI_MODEL: "gpt-4" },
      "AI_MODEL must be demo, or provider:model with provider google, openai or compatible",
    ],
    [{ CREDIT_MARKUP: "0.5" }, 'CREDIT_MARKUP must be a number from 1 to 1000, got "0.5"'],
    [{ HOLD_TTL_SECONDS: "0" }, 'HOLD_TTL_SECONDS must be a whole number from 10 to 86400, got "0"'],
    [{ AUTH_SECRET: "short" }, "AUTH_SECRET must be at least 32 characters"],
    [{ ADMIN_EMAILS: "not an email" }, "ADMIN_EMAILS must be a comma-separated list of email addresses"],
    [{ TOPUP_MIN_CENTS: "2000" }, "TOPUP_MIN_CENTS (2000) must not be above TOPUP_MAX_CENTS (1000)"],
    [{ TOPUP_STEP_CENTS: "70" }, "TOPUP_STEP_CENTS (70) must divide"],
    [
      { NODE_ENV: "production", APP_URL: "https://c.example.com", SMTP_URL: smtp },
      "AUTH_SECRET must be set when NODE_ENV=production",
    ],
    [
      {
        NODE_ENV: "production",
        AUTH_SECRET: "s".repeat(32),
        APP_URL: "http://c.example.com",
        SMTP_URL: smtp,
      },
      'APP_URL must be an https:// URL when NODE_ENV=production, got "http://c.example.com"',
    ],
    [
      { NODE_ENV: "production", AUTH_SECRET: "s".repeat(32), SMTP_URL: smtp },
      "APP_URL must be set to the public https:// URL",
    ],
    [
      {
        NODE_ENV: "production",
        AUTH_SECRET: "s".repeat(32),
        APP_URL: "https://c.example.com",
        STRIPE_SECRET_KEY: "sk_live_x",
        SMTP_URL: smtp,
      },
      "STRIPE_WEBHOOK_SECRET must be set when STRIPE_SECRET_KEY is set and NODE_ENV=production",
    ],
    [
      { NODE_ENV: "production", AUTH_SECRET: "s".repeat(32), APP_URL: "https://c.example.com" },
      "SMTP_URL must be set when NODE_ENV=production",
    ],
    [
      {
        NODE_ENV: "production",
        AUTH_SECRET: "s".repeat(32),
        APP_URL: "https://c.example.com",
        SMTP_URL: smtp,
        LOCAL_MAILBOX: "on",
      },
      "LOCAL_MAILBOX=on is not allowed when NODE_ENV=production",
    ],
    [{ SMTP_URL: "http://mail.example.com" }, "SMTP_URL must be an smtp:// or smtps:// URL"],
    [{ MAIL_FROM: "not a sender" }, "MAIL_FROM must be a sender such as"],
    [{ REQUIRE_EMAIL_VERIFICATION: "maybe" }, "REQUIRE_EMAIL_VERIFICATION must be true or false"],
    [
      {
        NODE_ENV: "production",
        AUTH_SECRET: "s".repeat(32),
        APP_URL: "https://c.example.com",
        STRIPE_SECRET_KEY: "sk_live_x",
        SMTP_URL: smtp,
      },
      "STRIPE_WEBHOOK_SECRET must be set when STRIPE_SECRET_KEY is set and NODE_ENV=production",
    ],
    [{ GOOGLE_CLIENT_ID: "id" }, "GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET must be set together"],
    [{ DATABASE_PREPARED_STATEMENTS: "no" }, 'DATABASE_PREPARED_STATEMENTS must be true or false, got "no"'],
  ])("refuses %o with one clear line", (environment, message) => {
    const problems = problemsOf(environment);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  it("prepares statements unless DATABASE_URL names a transaction-mode pooler or the setting says no", () => {
    const prepared = (environment: Record<string, string>) =>
      loadConfig({ AUTH_SECRET: "s".repeat(32), ...environment }).databasePreparedStatements;
    expect(prepared({})).toBe(true);
    expect(prepared({ DATABASE_URL: "postgres://u:p@db.example.com:5432/app" })).toBe(true);
    expect(prepared({ DATABASE_URL: "postgres://u:p@pooler.supabase.com:6543/postgres" })).toBe(false);
    expect(prepared({ DATABASE_URL: "postgres://u:p@bouncer:5432/app?pgbouncer=true" })).toBe(false);
    expect(
      prepared({
        DATABASE_URL: "postgres://u:p@pooler.supabase.com:6543/postgres",
        DATABASE_PREPARED_STATEMENTS: "true",
      }),
    ).toBe(true);
    expect(prepared({ DATABASE_PREPARED_STATEMENTS: "false" })).toBe(false);
  });

  it("runs the checkout simulator only on a loopback APP_URL or when STRIPE_SIMULATOR=on", () => {
    const simulator = (environment: Record<string, string>) =>
      loadConfig({ DATA_DIR: dataDir, ...environment }).stripeSimulator;
    expect(simulator({})).toBe(true);
    for (const url of [
      "http://localhost:8080",
      "http://127.0.0.1:3000",
      "http://127.8.9.10",
      "http://[::1]:3000",
    ])
      expect(simulator({ APP_URL: url })).toBe(true);
    for (const url of [
      "https://example.com",
      "http://10.0.0.5:3000",
      "http://localhost.example.com",
      "http://127.0.0.1.nip.io",
    ])
      expect(simulator({ APP_URL: url })).toBe(false);
    // Forgetting NODE_ENV no longer turns a public deployment into free credits.
    expect(simulator({ NODE_ENV: "development", APP_URL: "https://example.com" })).toBe(false);
    expect(simulator({ APP_URL: "https://example.com", STRIPE_SIMULATOR: "on" })).toBe(true);
    expect(simulator({ STRIPE_SIMULATOR: "off" })).toBe(false);
    // With a Stripe key, real Checkout is used whatever the simulator setting says.
    expect(simulator({ STRIPE_SIMULATOR: "on", STRIPE_SECRET_KEY: "sk_test_abc" })).toBe(false);
    expect(problemsOf({ STRIPE_SIMULATOR: "yes" })).toEqual([
      'STRIPE_SIMULATOR must be on or off, got "yes"',
    ]);
    const production = {
      NODE_ENV: "production",
      APP_URL: "https://example.com",
      AUTH_SECRET: "s".repeat(32),
      SMTP_URL: smtp,
    };
    expect(simulator(production)).toBe(false);
    expect(problemsOf({ ...production, STRIPE_SIMULATOR: "on" })).toEqual([
      expect.stringContaining("STRIPE_SIMULATOR=on is not allowed when NODE_ENV=production"),
    ]);
  });

  it("requires email verification in production only, unless set; keeps a local mailbox only on loopback", () => {
    const production = {
      NODE_ENV: "production",
      APP_URL: "https://example.com",
      AUTH_SECRET: "s".repeat(32),
      SMTP_URL: smtp,
    };
    expect(loadConfig({ DATA_DIR: dataDir }).requireEmailVerification).toBe(false);
    expect(loadConfig(production).requireEmailVerification).toBe(true);
    expect(loadConfig({ ...production, REQUIRE_EMAIL_VERIFICATION: "false" }).requireEmailVerification).toBe(
      false,
    );
    expect(loadConfig({ DATA_DIR: dataDir }).mail).toEqual({
      smtpUrl: undefined,
      from: "Coinslot <no-reply@localhost>",
      localMailbox: true,
    });
    const mail = (environment: Record<string, string>) =>
      loadConfig({ DATA_DIR: dataDir, ...environment }).mail;
    expect(mail({ APP_URL: "https://coinslot.example.com" }).localMailbox).toBe(false);
    expect(mail({ APP_URL: "https://coinslot.example.com", LOCAL_MAILBOX: "on" }).localMailbox).toBe(true);
    expect(mail({ SMTP_URL: smtp, LOCAL_MAILBOX: "on" })).toMatchObject({
      smtpUrl: smtp,
      localMailbox: false,
    });
    expect(mail({ MAIL_FROM: "Shop <billing@shop.example>" }).from).toBe("Shop <billing@shop.example>");
  });

  it("limits checkout per user, 20 a minute unless set", () => {
    expect(loadConfig({ DATA_DIR: dataDir }).checkoutRateLimit).toEqual({ max: 20, windowSeconds: 60 });
    expect(
      loadConfig({
        DATA_DIR: dataDir,
        CHECKOUT_RATE_LIMIT_MAX: "5",
        CHECKOUT_RATE_LIMIT_WINDOW_SECONDS: "10",
      }).checkoutRateLimit,
    ).toEqual({ max: 5, windowSeconds: 10 });
    expect(problemsOf({ CHECKOUT_RATE_LIMIT_MAX: "0" })).toHaveLength(1);
  });

  it("reads CHECKOUT_RETURN_ORIGINS as exact origins, none unless set", () => {
    expect(loadConfig({ DATA_DIR: dataDir }).checkoutReturnOrigins).toEqual([]);
    const origins = "https://App.Example.com, http://localhost:5173,https://shop.example:443";
    expect(loadConfig({ DATA_DIR: dataDir, CHECKOUT_RETURN_ORIGINS: origins }).checkoutReturnOrigins).toEqual(
      ["https://app.example.com", "http://localhost:5173", "https://shop.example"],
    );
    for (const bad of [
      "app.example.com",
      "https://app.example.com/path",
      "javascript:alert(1)",
      "https://a@b.example",
    ]) {
      expect(problemsOf({ CHECKOUT_RETURN_ORIGINS: bad }), bad).toHaveLength(1);
    }
  });

  it("reads WEBHOOK_ENDPOINTS as https URLs, http only to this machine, none unless set", () => {
    const defaults = loadConfig({ DATA_DIR: dataDir });
    expect(defaults.webhookEndpoints).toEqual([]);
    expect(defaults.lowBalanceAlertCents).toBe(100);
    const endpoints =
      "https://App.Example.com/hooks?v=2, http://127.0.0.1:4000/hooks,https://app.example.com/hooks?v=2";
    expect(loadConfig({ DATA_DIR: dataDir, WEBHOOK_ENDPOINTS: endpoints }).webhookEndpoints).toEqual([
      "https://app.example.com/hooks?v=2",
      "http://127.0.0.1:4000/hooks",
    ]);
    for (const bad of [
      "http://app.example.com/hooks",
      "https://user:secret@app.example.com/hooks",
      "ftp://app.example.com/",
      "app.example.com/hooks",
      "https://app.example.com/hooks,",
    ]) {
      expect(problemsOf({ WEBHOOK_ENDPOINTS: bad }), bad).toHaveLength(1);
    }
    expect(problemsOf({ LOW_BALANCE_ALERT_CENTS: "-1" })).toHaveLength(1);
  });

  it("bounds chat text: 32,000 characters a question and 200,000 a conversation unless set", () => {
    const chat = (environment: Record<string, string>) => {
      const config = loadConfig({ DATA_DIR: dataDir, ...environment });
      return [config.chatMaxMessageChars, config.chatMaxPromptChars];
    };
    expect(chat({})).toEqual([32_000, 200_000]);
    expect(chat({ CHAT_MAX_MESSAGE_CHARS: "1000", CHAT_MAX_PROMPT_CHARS: "5000" })).toEqual([1_000, 5_000]);
    expect(problemsOf({ CHAT_MAX_PROMPT_CHARS: "2000000" })).toEqual([
      'CHAT_MAX_PROMPT_CHARS must be a whole number from 100 to 1000000, got "2000000"',
    ]);
    expect(problemsOf({ CHAT_MAX_MESSAGE_CHARS: "50000", CHAT_MAX_PROMPT_CHARS: "40000" })).toEqual([
      "CHAT_MAX_MESSAGE_CHARS (50000) must not be above CHAT_MAX_PROMPT_CHARS (40000)",
    ]);
  });

  it("reports every problem at once", () => {
    expect(problemsOf({ PORT: "abc", CURRENCY: "x", HOLD_TTL_SECONDS: "no" })).toHaveLength(3);
  });
});

describe("starting with a bad setting", () => {
  it("prints one line per problem, no stack trace, and exits 1", () => {
    const result = spawnSync("node", ["--import", "tsx", "src/main.ts"], {
      env: { ...process.env, DATA_DIR: dataDir, PORT: "abc", CURRENCY: "dollars" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT must be a whole number from 1 to 65535, got "abc"\n');
    expect(result.stderr).toContain(
      'CURRENCY must be a three-letter ISO currency code such as usd, got "dollars"\n',
    );
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    expect(result.stdout).toBe("");
  });
});
