import type { MiddlewareHandler } from "hono";
import type { Config } from "../config.js";
import type { Pool } from "../db/pool.js";
import { countAttempt } from "../db/rate-limit.js";
import { AppError } from "../kit/errors.js";
import { findUsableKey, isServiceKeySecret } from "./keys.js";

export type MeteringEnv = { Variables: { serviceKeyId: string } };

const advice =
  'Send `Authorization: Bearer csk_...` with a service key an admin created (admin page or `npm run cli -- service-key create --name "my app"`).';

function invalidKey(problem: string): AppError {
  return new AppError("INVALID_SERVICE_KEY", `${problem} ${advice}`);
}

/**
 * Lets a `/v1/*` request through only with a live service key, counted against its rate limit
 * (in the database, so every server process shares one count). A missing, malformed, unknown or
 * revoked key is 401 INVALID_SERVICE_KEY; over the limit is 429 RATE_LIMITED with Retry-After.
 *
 * @example
 * routes.use("/v1/*", requireServiceKey({ pool, config }));
 */
export function requireServiceKey(options: {
  pool: Pool;
  config: Pick<Config, "meteringRateLimit">;
}): MiddlewareHandler<MeteringEnv> {
  const { pool, config } = options;
  return async (context, next) => {
    const header = context.req.header("authorization");
    if (!header) throw invalidKey("This request has no Authorization header.");
    const [scheme, secret, ...rest] = header.trim().split(/\s+/);
    if (scheme?.toLowerCase() !== "bearer" || !secret || rest.length > 0 || !isServiceKeySecret(secret)) {
      throw invalidKey("The Authorization header is not `Bearer csk_live_...` or `Bearer csk_test_...`.");
    }
    const key = await findUsableKey(pool, secret);
    if (!key) throw invalidKey("This service key is unknown or revoked.");
    const attempt = await countAttempt(pool, {
      subject: `service_key:${key.id}`,
      action: "metering",
      ...config.meteringRateLimit,
    });
    if (!attempt.allowed) {
      context.header("Retry-After", String(attempt.retryAfterSeconds));
      throw new AppError(
        "RATE_LIMITED",
        `This service key sent more than ${config.meteringRateLimit.max} requests in ${config.meteringRateLimit.windowSeconds} seconds. Try again in ${attempt.retryAfterSeconds} seconds.`,
        { retryAfterSeconds: attempt.retryAfterSeconds },
      );
    }
    context.set("serviceKeyId", key.id);
    await next();
  };
}
