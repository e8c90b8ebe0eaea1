import type { MiddlewareHandler } from "hono";
import { AppError } from "../http/errors.js";
import type { AuthedEnv } from "./types.js";

/** Lets only people listed in ADMIN_EMAILS through; everyone else gets 403 FORBIDDEN. */
export const requireAdmin: MiddlewareHandler<AuthedEnv> = async (context, next) => {
  if (!context.get("user")?.isAdmin) {
    throw new AppError("FORBIDDEN", 403, "Only admins (listed in ADMIN_EMAILS) can do this.");
  }
  await next();
};
