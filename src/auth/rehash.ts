import { createAuthMiddleware } from "better-auth/api";
import type { Logger } from "../logger.js";
import { hashPassword, isCurrentHash } from "./password.js";

/**
 * After a successful email sign-in, replaces a password hash stored with an older scheme (Better
 * Auth's scrypt) by argon2id. The password is only known at this moment, so this is the one chance to
 * lift old accounts to OWASP's level without asking anyone to reset. A failure is logged, never
 * fatal: the person is already signed in and the old hash still verifies.
 */
export function upgradeOldPasswordHashes(logger: Logger) {
  return createAuthMiddleware(async (context) => {
    if (context.path !== "/sign-in/email") return;
    const session = context.context.newSession;
    const password: unknown = context.body?.password;
    if (!session || typeof password !== "string") return;
    try {
      const accounts = await context.context.internalAdapter.findAccounts(session.user.id);
      const credential = accounts.find((account) => account.providerId === "credential");
      if (!credential?.password || isCurrentHash(credential.password)) return;
      await context.context.internalAdapter.updatePassword(session.user.id, await hashPassword(password));
      logger.info({ userId: session.user.id }, "password hash upgraded to argon2id");
    } catch (error) {
      logger.warn({ err: error, userId: session.user.id }, "could not upgrade the password hash");
    }
  });
}
