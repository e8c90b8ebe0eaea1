import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import { z } from "zod";
import { requireAdmin } from "../auth/require-admin.js";
import type { AuthedEnv } from "../auth/types.js";
import { AppError } from "../http/errors.js";
import { parseInput, readJson } from "../http/validation.js";
import { topupProblem } from "./amount.js";
import { confirmCheckout, startCheckout } from "./checkout.js";
import type { BillingContext, BillingDependencies } from "./context.js";
import { refundSimulatedPayment } from "./simulated-refund.js";
import { simulatorRoutes } from "./simulator.js";
import { createStripeClient } from "./stripe.js";
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
      400,
      "Idempotency-Key must be 1 to 100 letters, digits, or . : _ -",
    );
  }
  return header;
}

function accountRoutes(context: BillingContext): Hono<AuthedEnv> {
  const app = new Hono<AuthedEnv>();

  app.post("/api/checkout", async (httpContext) => {
    const { amountCents } = parseInput(checkoutInput, await readJson(httpContext));
    const problem = topupProblem(amountCents, context.config);
    if (problem) throw new AppError("INVALID_AMOUNT", 400, problem);
    if (!context.stripe && context.config.nodeEnv === "production") {
      // The simulator hands out credits for free; in production that would be real AI spend for nothing.
      throw new AppError(
        "CHECKOUT_NOT_CONFIGURED",
        503,
        "Buying credits is not set up: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET.",
      );
    }
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
export function billingRoutes(dependencies: BillingDependencies): Hono<AuthedEnv> {
  const context: BillingContext = { ...dependencies, stripe: createStripeClient(dependencies.config) };
  const app = new Hono<AuthedEnv>();
  app.route("/", webhookRoutes(context));
  app.route("/", simulatorRoutes(context));
  app.route("/", accountRoutes(context));
  return app;
}
