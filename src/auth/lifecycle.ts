import { APIError, createAuthMiddleware, getSessionFromCtx } from "better-auth/api";
import type { Config } from "../config.js";
import type { Pool } from "../db/pool.js";
import type { Ledger } from "../ledger/types.js";
import type { Logger } from "../logger.js";
import { enqueueMail } from "../mail/outbox.js";
import { markEmailVerified } from "./email-verification.js";
import { openCreditsAccount } from "./starter-credits.js";

type User = { id: string; email: string; name: string; emailVerified: boolean };

/** What the account lifecycle needs; `eraseUser` removes what other rooms keep about a person. */
export type LifecycleDependencies = {
  config: Config;
  pool: Pool;
  logger: Logger;
  ledger: Ledger;
  eraseUser?: (user: { id: string; email: string }) => Promise<void>;
};

// Long enough to find the mail the next morning; a reset link is shorter-lived, being more powerful.
export const verificationLinkSeconds = 24 * 60 * 60;
export const resetLinkSeconds = 60 * 60;

/** Where the web app's pages are; links in mail lead there, never to an address a request named. */
const pageUrl = (config: Config, path: string) => new URL(path, config.appUrl).toString();

/**
 * Better Auth's email verification, written to the mail outbox: a link on sign-up (and on a sign-in
 * refused for want of it), signing the person in when followed, and the starter credits once verified.
 */
export function emailVerificationOptions(dependencies: LifecycleDependencies) {
  const { config, pool, ledger } = dependencies;
  return {
    sendOnSignUp: true,
    sendOnSignIn: config.requireEmailVerification,
    autoSignInAfterVerification: true,
    expiresIn: verificationLinkSeconds,
    sendVerificationEmail: async ({ user, url }: { user: User; url: string }) => {
      await enqueueMail(pool, {
        kind: "verify-email",
        to: user.email,
        userId: user.id,
        data: { name: user.name, url },
      });
    },
    // Concurrent clicks on one link can each get here: the grant's key makes them one.
    afterEmailVerification: async (user: User) => {
      await openCreditsAccount({ config, ledger, pool }, { ...user, emailVerified: true });
    },
  };
}

/**
 * Better Auth's password reset and sign-up, written to the mail outbox: a single-use reset link
 * that signs out every session when used, and, when sign-up answers alike for every address, a
 * note to the owner of an address someone tried to register again.
 */
export function passwordOptions(dependencies: LifecycleDependencies) {
  const { config, pool, logger } = dependencies;
  return {
    requireEmailVerification: config.requireEmailVerification,
    resetPasswordTokenExpiresIn: resetLinkSeconds,
    revokeSessionsOnPasswordReset: true,
    sendResetPassword: async ({ user, url }: { user: User; url: string }) => {
      await enqueueMail(pool, {
        kind: "reset-password",
        to: user.email,
        userId: user.id,
        data: { name: user.name, url, expiresInMinutes: resetLinkSeconds / 60 },
      });
    },
    // Following the emailed link proves the address as well as a verification link would. This is
    // also how a person whose account an app created through the metering API sets a first password.
    onPasswordReset: async ({ user }: { user: User }) => {
      const outcome = await markEmailVerified(pool, user.email);
      logger.info({ userId: user.id, outcome }, "password reset by emailed link");
      await enqueueMail(pool, {
        kind: "password-changed",
        to: user.email,
        userId: user.id,
        data: { name: user.name, resetUrl: pageUrl(config, "/forgot-password") },
      });
    },
    onExistingUserSignUp: async ({ user }: { user: User }) => {
      await enqueueMail(pool, {
        kind: "existing-account",
        to: user.email,
        userId: user.id,
        data: {
          name: user.name,
          signInUrl: pageUrl(config, "/"),
          resetUrl: pageUrl(config, "/forgot-password"),
        },
      });
    },
  };
}

/**
 * Better Auth's account deletion: confirmed by the password (or a fresh sign-in for a Google
 * account). Before the user row goes, the ledger releases the open holds and forgets the email, and
 * `eraseUser` removes conversations and the rest; the ledger's entries stay, for accounting.
 */
export function deleteUserOptions(dependencies: LifecycleDependencies) {
  const { pool, ledger, logger, eraseUser } = dependencies;
  return {
    enabled: true,
    beforeDelete: async (user: User) => {
      const closed = await ledger.closeAccount({ userId: user.id });
      if (closed.error) throw new Error(`${closed.error.code}: ${closed.error.message}`);
      await eraseUser?.(user);
      logger.info({ userId: user.id, releasedHolds: closed.data.releasedHolds }, "account deleted");
    },
    afterDelete: async (user: User) => {
      await enqueueMail(pool, { kind: "account-deleted", to: user.email, data: { name: user.name } });
    },
  };
}

/**
 * Before Better Auth deletes an account: one that has a password must send it. Better Auth alone
 * would accept any session signed in within the last day, so a stolen cookie could delete the
 * account; a Google-only account (no password) still confirms by such a recent sign-in.
 */
export function requirePasswordToDelete() {
  return createAuthMiddleware(async (context) => {
    if (context.path !== "/delete-user" || typeof context.body?.password === "string") return;
    const session = await getSessionFromCtx(context);
    if (!session) return;
    const accounts = await context.context.internalAdapter.findAccounts(session.user.id);
    if (accounts.some((account) => account.providerId === "credential" && account.password)) {
      throw new APIError("BAD_REQUEST", {
        code: "PASSWORD_REQUIRED",
        message: "Type your password to confirm that you want to delete your account.",
      });
    }
  });
}
