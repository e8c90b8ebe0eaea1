import { z } from "zod";
import { loadLocalSecrets } from "./local-secrets.js";

/**
 * Every setting of DESIGN.md, validated once at start. Each rule says what it accepts in words, so a
 * bad value produces one line a person can act on: `PORT must be a whole number from 1 to 65535, got "abc"`.
 */
export type Config = {
  nodeEnv: "development" | "production" | "test";
  port: number;
  appUrl: string;
  databaseUrl: string | undefined;
  /** False behind a pooler in transaction mode, which cannot keep prepared statements. */
  databasePreparedStatements: boolean;
  dataDir: string;
  authSecret: string;
  googleClientId: string | undefined;
  googleClientSecret: string | undefined;
  /** Sign-in and sign-up attempts allowed per client address and path within the window. */
  authRateLimit: { max: number; windowSeconds: number };
  /** The header a trusted reverse proxy sets to the client's address; unset means the TCP peer. */
  clientIpHeader: string | undefined;
  adminEmails: string[];
  /**
   * Whether starter credits, admin rights and password sign-in wait for a verified email. Also makes
   * sign-up answer alike for new and registered addresses (the owner of a registered one is emailed).
   */
  requireEmailVerification: boolean;
  /**
   * Outgoing email: SMTP when `smtpUrl` is set; else, locally (loopback APP_URL or LOCAL_MAILBOX=on),
   * a mailbox kept in the database and shown at /dev/mailbox; else mail waits in the outbox unsent.
   */
  mail: { smtpUrl: string | undefined; from: string; localMailbox: boolean };
  newUserCreditsCents: number;
  topup: { minCents: number; maxCents: number; stepCents: number; defaultCents: number };
  currency: string;
  stripeSecretKey: string | undefined;
  stripeWebhookSecret: string;
  /** Where stripe-node sends API calls; unset means api.stripe.com. For stripe-mock and tests. */
  stripeApiUrl: string | undefined;
  /**
   * Whether the offline checkout simulator (free credits) stands in for Stripe: no STRIPE_SECRET_KEY,
   * never in production, and APP_URL a loopback address or STRIPE_SIMULATOR=on.
   */
  stripeSimulator: boolean;
  /** Checkout sessions created, and confirmations that ask Stripe, per user within the window (each counted apart). */
  checkoutRateLimit: { max: number; windowSeconds: number };
  /** Requests per service key to /v1/*, counted in the database. */
  meteringRateLimit: { max: number; windowSeconds: number };
  /** Origins (`https://app.example.com`) that `POST /v1/checkout` may send a buyer back to; empty: none. */
  checkoutReturnOrigins: string[];
  /** URLs the outgoing webhooks go to: https, or http on a loopback host; empty: none. */
  webhookEndpoints: string[];
  /** The default low-balance alert threshold (email, banner, and balance.low for an app's customer), once per crossing. */
  lowBalanceAlertCents: number;
  /** Days a promotional lot (signup bonus, promo code) lasts before its remainder expires. */
  promoCreditDays: number;
  /** Days a paid lot (purchase, adjustment) lasts; undefined: paid credit never expires. */
  paidCreditDays: number | undefined;
  aiModel: string;
  /** Every model the gateway (`/v1/chat/completions`) serves; AI_MODEL among them. */
  aiModels: string[];
  googleApiKey: string | undefined;
  openaiApiKey: string | undefined;
  openaiBaseUrl: string | undefined;
  aiPriceInputPerMillion: number | undefined;
  aiPriceOutputPerMillion: number | undefined;
  creditMarkup: number;
  maxOutputTokens: number;
  /** The demo model's pause between words: 0 under NODE_ENV=test, 20 ms otherwise so answers visibly stream. */
  demoWordDelayMs: number;
  holdTtlSeconds: number;
  /** Longest question (user message) /api/chat accepts, in characters. */
  chatMaxMessageChars: number;
  /** Longest conversation /api/chat accepts, every message together, in characters. */
  chatMaxPromptChars: number;
  logLevel: string;
  metricsToken: string | undefined;
};

type Environment = Record<string, string | undefined>;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

type Rule<T> = { schema: z.ZodType<T>; accepts: string };

function wholeNumber(min: number, max: number): Rule<number> {
  return {
    schema: z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max)),
    accepts: `a whole number from ${min} to ${max}`,
  };
}

function decimal(min: number, max: number): Rule<number> {
  return {
    schema: z
      .string()
      .regex(/^\d+(\.\d+)?$/)
      .transform(Number)
      .pipe(z.number().min(min).max(max)),
    accepts: `a number from ${min} to ${max}`,
  };
}

const httpUrl: Rule<string> = {
  schema: z.url({ protocol: /^https?$/ }).transform((value) => value.replace(/\/+$/, "")),
  accepts: "an http:// or https:// URL such as http://localhost:3000",
};

/** `https://app.example.com` for an entry that is exactly an http(s) origin (no path, query or user), else null. */
function originOf(entry: string): string | null {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return null;
  }
  const onlyOrigin = url.pathname === "/" && url.search === "" && url.hash === "";
  const plain = url.username === "" && url.password === "";
  const web = url.protocol === "https:" || url.protocol === "http:";
  return onlyOrigin && plain && web ? url.origin : null;
}

const originList: Rule<string[]> = {
  schema: z
    .string()
    .transform((value) => value.split(",").map((entry) => originOf(entry.trim())))
    .refine((origins) => origins.every((origin) => origin !== null))
    .transform((origins) => origins.filter((origin) => origin !== null)),
  accepts:
    "a comma-separated list of origins such as https://app.example.com,http://localhost:5173 (scheme, host and port; no path)",
};

/**
 * The URL an outgoing webhook may go to, normalised (so its derived secret is stable), or null:
 * https anywhere, http only to this machine (a receiver in development), never with credentials,
 * which would end up in logs and in the admin list.
 */
export function webhookEndpointOf(entry: string): string | null {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return null;
  }
  const secure = url.protocol === "https:" || (url.protocol === "http:" && isLoopbackUrl(url.href));
  const plain = url.username === "" && url.password === "" && url.hash === "";
  return secure && plain && url.href.length <= 2000 ? url.href : null;
}

const webhookEndpointList: Rule<string[]> = {
  schema: z
    .string()
    .transform((value) => value.split(",").map((entry) => webhookEndpointOf(entry.trim())))
    .refine((endpoints) => endpoints.every((endpoint) => endpoint !== null))
    .transform((endpoints) => [...new Set(endpoints.filter((endpoint) => endpoint !== null))])
    .refine((endpoints) => endpoints.length <= 20),
  accepts:
    "a comma-separated list of at most 20 https:// URLs (http:// only for localhost or 127.x), such as https://app.example.com/coinslot/webhook",
};

const yesNo: Rule<boolean> = {
  schema: z.enum(["true", "false"]).transform((value) => value === "true"),
  accepts: "true or false",
};

const postgresUrl: Rule<string> = {
  schema: z.string().regex(/^postgres(ql)?:\/\/.+/),
  accepts: "a postgres:// or postgresql:// connection URL",
};

const text = (accepts: string, pattern: RegExp = /^.+$/): Rule<string> => ({
  schema: z.string().regex(pattern),
  accepts,
});

const rules = {
  NODE_ENV: {
    schema: z.enum(["development", "production", "test"]),
    accepts: "one of development, production, test",
  },
  PORT: wholeNumber(1, 65535),
  APP_URL: httpUrl,
  DATABASE_URL: postgresUrl,
  DATABASE_PREPARED_STATEMENTS: yesNo,
  DATA_DIR: text("a folder path"),
  AUTH_SECRET: text("at least 32 characters (generate one with `openssl rand -base64 32`)", /^.{32,}$/),
  GOOGLE_CLIENT_ID: text("the OAuth client id from Google's console"),
  GOOGLE_CLIENT_SECRET: text("the OAuth client secret from Google's console"),
  AUTH_RATE_LIMIT_MAX: wholeNumber(1, 1_000_000),
  AUTH_RATE_LIMIT_WINDOW_SECONDS: wholeNumber(1, 86_400),
  CLIENT_IP_HEADER: text(
    "an HTTP header name your reverse proxy sets, such as x-forwarded-for or fly-client-ip",
    /^[A-Za-z0-9-]+$/,
  ),
  ADMIN_EMAILS: text(
    "a comma-separated list of email addresses",
    /^[^\s,@]+@[^\s,@]+(\s*,\s*[^\s,@]+@[^\s,@]+)*$/,
  ),
  REQUIRE_EMAIL_VERIFICATION: yesNo,
  SMTP_URL: text(
    "an smtp:// or smtps:// URL such as smtp://user:pass@smtp.example.com:587",
    /^smtps?:\/\/[^\s]+$/,
  ),
  MAIL_FROM: text(
    "a sender such as Coinslot <no-reply@example.com> or no-reply@example.com",
    /^([^<>\r\n]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/,
  ),
  LOCAL_MAILBOX: {
    schema: z.enum(["on", "off"]).transform((value) => value === "on"),
    accepts: "on or off",
  },
  NEW_USER_CREDITS_CENTS: wholeNumber(0, 100_000_000),
  TOPUP_MIN_CENTS: wholeNumber(50, 100_000_000),
  TOPUP_MAX_CENTS: wholeNumber(50, 100_000_000),
  TOPUP_STEP_CENTS: wholeNumber(1, 100_000_000),
  TOPUP_DEFAULT_CENTS: wholeNumber(50, 100_000_000),
  CURRENCY: text("a three-letter ISO currency code such as usd", /^[a-zA-Z]{3}$/),
  STRIPE_SECRET_KEY: text(
    "a Stripe secret key starting with sk_test_ or sk_live_ (or rk_)",
    /^(sk|rk)_(test|live)_\w+$/,
  ),
  STRIPE_WEBHOOK_SECRET: text("a Stripe webhook signing secret starting with whsec_", /^whsec_\S+$/),
  STRIPE_API_URL: httpUrl,
  STRIPE_SIMULATOR: {
    schema: z.enum(["on", "off"]).transform((value) => value === "on"),
    accepts: "on or off",
  },
  CHECKOUT_RATE_LIMIT_MAX: wholeNumber(1, 1_000_000),
  CHECKOUT_RATE_LIMIT_WINDOW_SECONDS: wholeNumber(1, 86_400),
  METERING_RATE_LIMIT_MAX: wholeNumber(1, 1_000_000_000),
  METERING_RATE_LIMIT_WINDOW_SECONDS: wholeNumber(1, 86_400),
  CHECKOUT_RETURN_ORIGINS: originList,
  WEBHOOK_ENDPOINTS: webhookEndpointList,
  LOW_BALANCE_ALERT_CENTS: wholeNumber(0, 100_000_000),
  PROMO_CREDIT_DAYS: wholeNumber(1, 36_500),
  PAID_CREDIT_DAYS: wholeNumber(1, 36_500),
  AI_MODEL: text(
    "demo, or provider:model with provider google, openai or compatible (for example google:gemini-2.0-flash)",
    /^(demo|(google|openai|compatible):\S+)$/,
  ),
  AI_MODELS: {
    schema: z
      .string()
      .transform((list) =>
        list
          .split(",")
          .map((item) => item.trim())
          .filter(Boolean),
      )
      .pipe(
        z
          .array(z.string().regex(/^(demo|(google|openai|compatible):\S+)$/))
          .min(1)
          .max(20),
      ),
    accepts:
      "a comma-separated list (at most 20) of demo or provider:model, with provider google, openai or compatible",
  },
  GOOGLE_GENERATIVE_AI_API_KEY: text("a Google AI Studio API key"),
  GEMINI_API_KEY: text("a Google AI Studio API key"),
  OPENAI_API_KEY: text("an API key"),
  OPENAI_BASE_URL: httpUrl,
  AI_PRICE_INPUT_PER_MILLION: decimal(0, 10_000),
  AI_PRICE_OUTPUT_PER_MILLION: decimal(0, 10_000),
  CREDIT_MARKUP: decimal(1, 1_000),
  MAX_OUTPUT_TOKENS: wholeNumber(1, 1_000_000),
  DEMO_WORD_DELAY_MS: wholeNumber(0, 10_000),
  HOLD_TTL_SECONDS: wholeNumber(10, 86_400),
  CHAT_MAX_MESSAGE_CHARS: wholeNumber(100, 1_000_000),
  CHAT_MAX_PROMPT_CHARS: wholeNumber(100, 1_000_000),
  METRICS_TOKEN: text("at least 16 characters", /^\S{16,}$/),
  LOG_LEVEL: {
    schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    accepts: "one of fatal, error, warn, info, debug, trace, silent",
  },
} satisfies Record<string, Rule<unknown>>;

type Name = keyof typeof rules;
type Parsed = { [K in Name]?: z.output<(typeof rules)[K]["schema"]> };

function parseEach(environment: Environment, problems: string[]): Parsed {
  const parsed: Record<string, unknown> = {};
  for (const [name, rule] of Object.entries(rules) as [Name, Rule<unknown>][]) {
    const raw = environment[name]?.trim();
    if (raw === undefined || raw === "") continue;
    const result = rule.schema.safeParse(raw);
    if (result.success) parsed[name] = result.data;
    else problems.push(`${name} must be ${rule.accepts}, got ${JSON.stringify(raw)}`);
  }
  return parsed as Parsed;
}

function checkTopup(topup: Config["topup"], problems: string[]): void {
  const { minCents, maxCents, stepCents, defaultCents } = topup;
  if (minCents > maxCents) {
    problems.push(`TOPUP_MIN_CENTS (${minCents}) must not be above TOPUP_MAX_CENTS (${maxCents})`);
    return;
  }
  if (defaultCents < minCents || defaultCents > maxCents) {
    problems.push(`TOPUP_DEFAULT_CENTS must be from TOPUP_MIN_CENTS to TOPUP_MAX_CENTS, got ${defaultCents}`);
  }
  if ((defaultCents - minCents) % stepCents !== 0 || (maxCents - minCents) % stepCents !== 0) {
    problems.push(
      `TOPUP_STEP_CENTS (${stepCents}) must divide the distance from TOPUP_MIN_CENTS to TOPUP_DEFAULT_CENTS and to TOPUP_MAX_CENTS`,
    );
  }
}

// Production must not run on local conveniences: a generated secret dies with the machine, Stripe
// cannot know a generated webhook secret, and cookies over http are not Secure.
function checkProduction(value: Parsed, problems: string[]): void {
  if (value.STRIPE_SIMULATOR === true) {
    problems.push(
      "STRIPE_SIMULATOR=on is not allowed when NODE_ENV=production (it gives credits away); set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET instead",
    );
  }
  if (value.APP_URL && !value.APP_URL.startsWith("https://")) {
    problems.push(`APP_URL must be an https:// URL when NODE_ENV=production, got "${value.APP_URL}"`);
  }
  if (!value.APP_URL) {
    problems.push("APP_URL must be set to the public https:// URL when NODE_ENV=production");
  }
  if (!value.SMTP_URL) {
    problems.push(
      "SMTP_URL must be set when NODE_ENV=production (for example smtp://user:pass@smtp.example.com:587): without it no verification, password reset or receipt email can be sent",
    );
  }
  if (value.LOCAL_MAILBOX === true) {
    problems.push(
      "LOCAL_MAILBOX=on is not allowed when NODE_ENV=production (anyone could read the mail at /dev/mailbox); set SMTP_URL instead",
    );
  }
  if (value.STRIPE_SECRET_KEY && !value.STRIPE_WEBHOOK_SECRET) {
    problems.push(
      "STRIPE_WEBHOOK_SECRET must be set when STRIPE_SECRET_KEY is set and NODE_ENV=production (copy it from the webhook endpoint in Stripe's dashboard)",
    );
  }
}

// Supabase's transaction-mode pooler listens on 6543, and `pgbouncer=true` is how Prisma users mark
// PgBouncer: neither keeps prepared statements, so a URL that says so turns them off by default.
function looksLikeTransactionPooler(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const parsed = new URL(url);
    return parsed.port === "6543" || parsed.searchParams.get("pgbouncer") === "true";
  } catch {
    return false;
  }
}

/** localhost, 127.0.0.0/8 or [::1]: a URL only this machine can reach. */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.toLowerCase();
  return host === "localhost" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * Reads every setting from `environment` (process.env merged with `.env` by the caller).
 * Throws ConfigError listing every problem at once, so one restart fixes them all.
 *
 * @example
 * const config = loadConfig({ PORT: "8080" });
 */
export function loadConfig(environment: Environment): Config {
  const problems: string[] = [];
  const value = parseEach(environment, problems);
  const nodeEnv = value.NODE_ENV ?? "development";
  const port = value.PORT ?? 3000;
  const dataDir = value.DATA_DIR ?? ".data";
  const topup = {
    minCents: value.TOPUP_MIN_CENTS ?? 100,
    maxCents: value.TOPUP_MAX_CENTS ?? 1000,
    stepCents: value.TOPUP_STEP_CENTS ?? 50,
    defaultCents: value.TOPUP_DEFAULT_CENTS ?? 300,
  };
  checkTopup(topup, problems);
  const chatMaxMessageChars = value.CHAT_MAX_MESSAGE_CHARS ?? 32_000;
  const chatMaxPromptChars = value.CHAT_MAX_PROMPT_CHARS ?? 200_000;
  if (chatMaxMessageChars > chatMaxPromptChars) {
    problems.push(
      `CHAT_MAX_MESSAGE_CHARS (${chatMaxMessageChars}) must not be above CHAT_MAX_PROMPT_CHARS (${chatMaxPromptChars})`,
    );
  }
  if (nodeEnv === "production" && !value.AUTH_SECRET && !environment.AUTH_SECRET) {
    problems.push(
      "AUTH_SECRET must be set when NODE_ENV=production (at least 32 characters; generate one with `openssl rand -base64 32`)",
    );
  }
  if (nodeEnv === "production") checkProduction(value, problems);
  if (Boolean(value.GOOGLE_CLIENT_ID) !== Boolean(value.GOOGLE_CLIENT_SECRET)) {
    problems.push("GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET must be set together (or neither)");
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const needsLocalSecrets = !value.AUTH_SECRET || !value.STRIPE_WEBHOOK_SECRET;
  const local = needsLocalSecrets ? loadLocalSecrets(dataDir) : undefined;
  const googleApiKey = value.GOOGLE_GENERATIVE_AI_API_KEY ?? value.GEMINI_API_KEY;
  const aiModel = value.AI_MODEL ?? (googleApiKey ? "google:gemini-2.0-flash" : "demo");
  return {
    nodeEnv,
    port,
    appUrl: value.APP_URL ?? `http://localhost:${port}`,
    databaseUrl: value.DATABASE_URL,
    databasePreparedStatements:
      value.DATABASE_PREPARED_STATEMENTS ?? !looksLikeTransactionPooler(value.DATABASE_URL),
    dataDir,
    authSecret: value.AUTH_SECRET ?? (local?.authSecret as string),
    googleClientId: value.GOOGLE_CLIENT_ID,
    googleClientSecret: value.GOOGLE_CLIENT_SECRET,
    authRateLimit: {
      max: value.AUTH_RATE_LIMIT_MAX ?? 10,
      windowSeconds: value.AUTH_RATE_LIMIT_WINDOW_SECONDS ?? 60,
    },
    clientIpHeader: value.CLIENT_IP_HEADER?.toLowerCase(),
    adminEmails: (value.ADMIN_EMAILS ?? "")
      .split(",")
      .map((email) => email.trim().toLowerCase())
      .filter(Boolean),
    requireEmailVerification: value.REQUIRE_EMAIL_VERIFICATION ?? nodeEnv === "production",
    mail: {
      smtpUrl: value.SMTP_URL,
      from: value.MAIL_FROM ?? "Coinslot <no-reply@localhost>",
      localMailbox:
        !value.SMTP_URL &&
        nodeEnv !== "production" &&
        (value.LOCAL_MAILBOX ?? isLoopbackUrl(value.APP_URL ?? `http://localhost:${port}`)),
    },
    newUserCreditsCents: value.NEW_USER_CREDITS_CENTS ?? 50,
    topup,
    currency: (value.CURRENCY ?? "usd").toLowerCase(),
    stripeSecretKey: value.STRIPE_SECRET_KEY,
    stripeWebhookSecret: value.STRIPE_WEBHOOK_SECRET ?? (local?.stripeWebhookSecret as string),
    stripeApiUrl: value.STRIPE_API_URL,
    stripeSimulator:
      !value.STRIPE_SECRET_KEY &&
      nodeEnv !== "production" &&
      (value.STRIPE_SIMULATOR ?? isLoopbackUrl(value.APP_URL ?? `http://localhost:${port}`)),
    checkoutRateLimit: {
      // The success page polls confirmation up to 15 times, so one purchase must fit in the default.
      max: value.CHECKOUT_RATE_LIMIT_MAX ?? 20,
      windowSeconds: value.CHECKOUT_RATE_LIMIT_WINDOW_SECONDS ?? 60,
    },
    meteringRateLimit: {
      // Ten requests a second per key: room for a busy app's holds, settles and usage, not for a loop.
      max: value.METERING_RATE_LIMIT_MAX ?? 600,
      windowSeconds: value.METERING_RATE_LIMIT_WINDOW_SECONDS ?? 60,
    },
    checkoutReturnOrigins: value.CHECKOUT_RETURN_ORIGINS ?? [],
    webhookEndpoints: value.WEBHOOK_ENDPOINTS ?? [],
    lowBalanceAlertCents: value.LOW_BALANCE_ALERT_CENTS ?? 100,
    promoCreditDays: value.PROMO_CREDIT_DAYS ?? 90,
    paidCreditDays: value.PAID_CREDIT_DAYS,
    aiModel,
    aiModels: [...new Set([aiModel, ...(value.AI_MODELS ?? [])])],
    googleApiKey,
    openaiApiKey: value.OPENAI_API_KEY,
    openaiBaseUrl: value.OPENAI_BASE_URL,
    aiPriceInputPerMillion: value.AI_PRICE_INPUT_PER_MILLION,
    aiPriceOutputPerMillion: value.AI_PRICE_OUTPUT_PER_MILLION,
    creditMarkup: value.CREDIT_MARKUP ?? 4,
    maxOutputTokens: value.MAX_OUTPUT_TOKENS ?? 1024,
    demoWordDelayMs: value.DEMO_WORD_DELAY_MS ?? (nodeEnv === "test" ? 0 : 20),
    holdTtlSeconds: value.HOLD_TTL_SECONDS ?? 300,
    chatMaxMessageChars,
    chatMaxPromptChars,
    logLevel: value.LOG_LEVEL ?? (nodeEnv === "test" ? "silent" : "info"),
    metricsToken: value.METRICS_TOKEN,
  };
}

/** The names of every setting, for `.env.example` checks and `doctor`. */
export const settingNames = Object.keys(rules) as Name[];
