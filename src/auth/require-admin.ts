import type { MiddlewareHandler } from "hono";
import { AppError } from "../kit/errors.js";
import type { AuthedEnv } from "./types.js";

/**
 * Lets only admins through: a verified email listed in ADMIN_EMAILS (see `toSessionUser`). Everyone
 * else gets 403 FORBIDDEN.
 */
export const requireAdmin: MiddlewareHandler<AuthedEnv> = async (context, next) => {
  if (!context.get("user")?.isAdmin) {
    throw new AppError(
      "FORBIDDEN",
      "Only admins can do this: an account whose email is listed in ADMIN_EMAILS and verified (sign in with Google, or have an operator run `npm run cli -- verify-email <email>`).",
    );
  }
  await next();
};
