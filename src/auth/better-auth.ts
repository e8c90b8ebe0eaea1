import { betterAuth } from "better-auth";
import { PostgresDialect } from "kysely";
import type { Config } from "../config.js";
import { clientAddressHeader } from "./client-address.js";
import {
  deleteUserOptions,
  emailVerificationOptions,
  type LifecycleDependencies,
  passwordOptions,
  requirePasswordToDelete,
} from "./lifecycle.js";
import { hashPassword, verifyPassword } from "./password.js";
import { upgradeOldPasswordHashes } from "./rehash.js";

/** The schema of Better Auth's tables (migration 0003), out of reach of Supabase's API roles. */
export const authSchema = "auth_coinslot";
export const authBasePath = "/api/auth";
export const passwordLengthLimits = { min: 8, max: 128 } as const;

/** Where Google sends people back after sign-in; paste it into Google's console. */
export function googleCallbackUrl(config: Pick<Config, "appUrl">): string {
  return `${config.appUrl}${authBasePath}/callback/google`;
}

/** The line printed at start, so the callback URL can be pasted into Google's console. */
export function describeGoogleSignIn(config: Config): string {
  const callback = googleCallbackUrl(config);
  if (config.googleClientId) return `Google sign-in is on; its authorized redirect URI is ${callback}`;
  return `Google sign-in is off; to turn it on, set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET and add ${callback} as an authorized redirect URI`;
}

function googleProvider(config: Config) {
  if (!config.googleClientId || !config.googleClientSecret) return {};
  return { google: { clientId: config.googleClientId, clientSecret: config.googleClientSecret } };
}

function rateLimit(config: Config) {
  const rule = { max: config.authRateLimit.max, window: config.authRateLimit.windowSeconds };
  return {
    // On in every mode: Better Auth's default turns it on in production only, and counts in memory,
    // which two server processes would not share.
    enabled: true,
    storage: "database" as const,
    // Every path that sends mail or checks a password or token: each is a way to spam or to guess.
    customRules: {
      "/sign-in/*": rule,
      "/sign-up/*": rule,
      "/request-password-reset": rule,
      "/reset-password": rule,
      "/send-verification-email": rule,
      "/change-password": rule,
      "/delete-user": rule,
    },
  };
}

/**
 * Better Auth on Coinslot's own pool and database, in the `auth_coinslot` schema. Email and password
 * always, Google when configured; verification, reset and deletion as lifecycle.ts sets them. Passwords hashed with argon2id; cookies HttpOnly and SameSite=Lax,
 * Secure when APP_URL is https; POSTs carrying cookies must come from APP_URL.
 *
 * @example
 * const auth = createAuth({ config, pool, logger, ledger });
 * const response = await auth.handler(request);
 */
export function createAuth(options: LifecycleDependencies) {
  const { config, pool, logger } = options;
  return betterAuth({
    appName: "Coinslot",
    baseURL: config.appUrl,
    basePath: authBasePath,
    secret: config.authSecret,
    database: {
      dialect: new PostgresDialect({ pool }),
      type: "postgres",
      schemaName: authSchema,
      transaction: true,
    },
    emailAndPassword: {
      enabled: true,
      minPasswordLength: passwordLengthLimits.min,
      maxPasswordLength: passwordLengthLimits.max,
      password: { hash: hashPassword, verify: verifyPassword },
      ...passwordOptions(options),
    },
    emailVerification: emailVerificationOptions(options),
    user: { deleteUser: deleteUserOptions(options) },
    socialProviders: googleProvider(config),
    // Off (Better Auth's default, stated so nobody turns it on unawares): every request then reads the
    // user from the database, so `npm run cli -- verify-email` grants admin at the next request.
    session: { cookieCache: { enabled: false } },
    trustedOrigins: [new URL(config.appUrl).origin],
    rateLimit: rateLimit(config),
    hooks: { before: requirePasswordToDelete(), after: upgradeOldPasswordHashes(logger) },
    telemetry: { enabled: false },
    advanced: {
      useSecureCookies: config.appUrl.startsWith("https://"),
      cookiePrefix: "coinslot",
      defaultCookieAttributes: { httpOnly: true, sameSite: "lax" },
      // Better Auth skips its origin check when NODE_ENV=test; Coinslot checks it in every mode.
      disableOriginCheck: false,
      ipAddress: { ipAddressHeaders: [clientAddressHeader] },
    },
    logger: {
      level: "warn",
      log: (level, message, ...details) => {
        const pinoLevel = level === "debug" ? "debug" : level;
        logger[pinoLevel]({ source: "better-auth", details }, message);
      },
    },
  });
}

export type Auth = ReturnType<typeof createAuth>;
