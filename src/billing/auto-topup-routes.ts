import { randomUUID } from "node:crypto";
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AuthedEnv } from "../auth/types.js";
import { AppError } from "../kit/errors.js";
import { parseInput, readJson } from "../kit/validation.js";
import {
  autoTopUpProblem,
  autoTopUpView,
  dismissTopUp,
  finishTopUp,
  updateAutoTopUp,
} from "./auto-topup-settings.js";
import type { BillingContext } from "./context.js";
import { countAttempt, rateLimitedError } from "./rate-limit.js";

// Whole cents; the real bounds (TOPUP_*) are checked after parsing, with a message naming them.
const cents = z.number().int().min(0).max(100_000_000);
const settingsInput = z
  .object({ enabled: z.boolean(), thresholdCents: cents, amountCents: cents, monthlyLimitCents: cents })
  .strict();
const topUpIdPattern = /^\d{1,18}$/;

function topUpIdOf(httpContext: Context<AuthedEnv>): string {
  const id = httpContext.req.param("id") ?? "";
  if (!topUpIdPattern.test(id)) {
    throw new AppError("PAYMENT_NOT_FOUND", "No failed auto top-up with this id is waiting for you.");
  }
  return id;
}

/** Counts one Stripe-bound request against the person's checkout limit; over it, 429 with Retry-After. */
function limiter(context: BillingContext, httpContext: Context<AuthedEnv>) {
  return async () => {
    const attempt = await countAttempt(context.pool, {
      userId: httpContext.get("user").id,
      action: "auto_topup",
      ...context.config.checkoutRateLimit,
    });
    if (attempt.allowed) return;
    httpContext.header("Retry-After", String(attempt.retryAfterSeconds));
    throw rateLimitedError(attempt.retryAfterSeconds);
  };
}

/**
 * Auto top-up for the signed-in person (the session gate guards `/api`): `GET /api/auto-topup`,
 * `PUT /api/auto-topup {enabled, thresholdCents, amountCents, monthlyLimitCents}` (answers
 * `checkoutUrl` when a card must be saved first), and, for a failed top-up, `POST
 * /api/auto-topup/top-ups/:id/finish` (a Checkout to pay it on-session) and `.../dismiss`. Only
 * requests that reach Stripe count against CHECKOUT_RATE_LIMIT_*.
 *
 * @example
 * app.route("/", autoTopUpRoutes(context));
 */
export function autoTopUpRoutes(context: BillingContext): Hono<AuthedEnv> {
  const app = new Hono<AuthedEnv>();

  app.get("/api/auto-topup", async (httpContext) =>
    httpContext.json({ autoTopUp: await autoTopUpView(context, httpContext.get("user")) }),
  );

  app.put("/api/auto-topup", async (httpContext) => {
    const input = parseInput(settingsInput, await readJson(httpContext));
    const problem = autoTopUpProblem(context, input);
    if (problem) throw new AppError("INVALID_AMOUNT", problem);
    const user = httpContext.get("user");
    const { checkoutUrl } = await updateAutoTopUp(context, {
      ...input,
      user,
      // Each click opens its own Checkout; a retried request with the same key gets the same one.
      requestKey: httpContext.req.header("idempotency-key")?.match(/^[\w.:-]{1,100}$/)?.[0] ?? randomUUID(),
      beforeStripe: limiter(context, httpContext),
    });
    return httpContext.json({ autoTopUp: await autoTopUpView(context, user), checkoutUrl });
  });

  app.post("/api/auto-topup/top-ups/:id/finish", async (httpContext) => {
    const { url } = await finishTopUp(context, {
      user: httpContext.get("user"),
      topUpId: topUpIdOf(httpContext),
      beforeStripe: limiter(context, httpContext),
    });
    return httpContext.json({ url });
  });

  app.post("/api/auto-topup/top-ups/:id/dismiss", async (httpContext) => {
    const user = httpContext.get("user");
    await dismissTopUp(context, { user, topUpId: topUpIdOf(httpContext) });
    return httpContext.json({ autoTopUp: await autoTopUpView(context, user) });
  });

  return app;
}
