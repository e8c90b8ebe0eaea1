import { randomUUID } from "node:crypto";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { requireAdmin } from "../auth/require-admin.js";
import type { AuthedEnv } from "../auth/types.js";
import type { Dependencies } from "../dependencies.js";
import { AppError } from "../kit/errors.js";
import { parseInput, readJson } from "../kit/validation.js";
import { topupProblem } from "./amount.js";
import { autoTopUpRoutes } from "./auto-topup-routes.js";
import { confirmCheckout, startCheckout } from "./checkout.js";
import { checkoutNotConfigured, checkoutProvider } from "./checkout-provider.js";
import { type BillingContext, createBillingContext } from "./context.js";
import { purchaseRoutes } from "./purchases.js";
import { type CheckoutAction, countAttempt, rateLimitedError } from "./rate-limit.js";
import { refundSimulatedPayment } from "./simulated-refund.js";
import { simulatorRoutes } from "./simulator.js";
import { webhookRoutes } from "./webhook.js";

const checkoutInput = z.object({ amountCents: z.number().int() });
const confirmInput = z.object({
  sessionId: z.string().regex(/^cs_\w{1,250}$/, "must be a Checkout Session id"),
});
const refundInput = z.object({ amountCents: z.number().int().min(1).max(100_000_000).optional() });
const requestKeyPattern = /^[\w.:-]{1,100}$/;

function requestKeyOf(header: string | undefined): string {
  if (header === undefined) return randomUUID();
  if (!requestKeyPattern.test(header)) {
    throw new AppError(
      "INVALID_IDEMPOTENCY_KEY",
      "Idempotency-Key must be 1 to 100 letters, digits, or . : _ -",
    );
  }
  return header;
}

/** Counts the attempt against the user's checkout limit; over it, 429 with `Retry-After`. */
async function limitAttempts(
  context: BillingContext,
  httpContext: Context<AuthedEnv>,
  action: CheckoutAction,
): Promise<void> {
  const attempt = await countAttempt(context.pool, {
    userId: httpContext.get("user").id,
    action,
    ...context.config.checkoutRateLimit,
  });
  if (attempt.allowed) return;
  httpContext.header("Retry-After", String(attempt.retryAfterSeconds));
  throw rateLimitedError(attempt.retryAfterSeconds);
}

function accountRoutes(context: BillingContext): Hono<AuthedEnv> {
  const app = new Hono<AuthedEnv>();

  app.post("/api/checkout", async (httpContext) => {
    const { amountCents } = parseInput(checkoutInput, await readJson(httpContext));
    const problem = topupProblem(amountCents, context.config);
    if (problem) throw new AppError("INVALID_AMOUNT", problem);
    if (!checkoutProvider(context).available) throw checkoutNotConfigured();
    // Counted once the request is valid: only those reach Stripe and write a payment row.
    await limitAttempts(context, httpContext, "checkout");
    const { url } = await startCheckout(context, {
      user: httpContext.get("user"),
      amountCents,
      requestKey: requestKeyOf(httpContext.req.header("idempotency-key")),
    });
    return httpContext.json({ url });
  });

  app.post("/api/checkout/confirm", async (httpContext) => {
    const { sessionId } = parseInput(confirmInput, await readJson(httpContext));
    const payment = await confirmCheckout(context, {
      user: httpContext.get("user"),
      checkoutSessionId: sessionId,
      // Only confirmations that ask Stripe count: the page's polling of a credited payment is free.
      beforeLookUp: () => limitAttempts(context, httpContext, "checkout_confirm"),
    });
    return httpContext.json({ payment });
  });

  app.post("/api/admin/payments/:checkoutSessionId/refund", requireAdmin, async (httpContext) => {
    // An empty body refunds whatever is left; a body may name a partial amount.
    const hasBody = (await httpContext.req.raw.clone().text()).trim() !== "";
    const { amountCents } = parseInput(refundInput, hasBody ? await readJson(httpContext) : {});
    const refund = await refundSimulatedPayment(context, {
      checkoutSessionId: httpContext.req.param("checkoutSessionId"),
      amountCents,
    });
    return httpContext.json({ refund });
  });

  return app;
}

/**
 * Buying credits: `POST /api/checkout`, `POST /api/checkout/confirm` (the success page),
 * `POST /api/stripe/webhook`, the offline simulator under `/simulator/`, and the admin's refund of a
 * simulated payment. Mounted once in the app; the session middleware guards the `/api` ones.
 *
 * @example
 * app.route("/", billingRoutes(dependencies));
 */
export function billingRoutes(dependencies: Dependencies): Hono<AuthedEnv> {
  const context = createBillingContext(dependencies);
  const app = new Hono<AuthedEnv>();
  app.route("/", webhookRoutes(context));
  app.route("/", simulatorRoutes(context));
  app.route("/", accountRoutes(context));
  app.route("/", autoTopUpRoutes(context));
  app.route("/", purchaseRoutes(dependencies));
  return app;
}
