import { Hono } from "hono";
import { limitBody } from "../kit/body-limit.js";
import { AppError } from "../kit/errors.js";
import { recordWebhookEvent } from "../metrics/registry.js";
import type { BillingContext } from "./context.js";
import { applyStripeEvent } from "./events.js";
import { verifyEvent } from "./stripe.js";

// Stripe's events are a few kilobytes; anything near this limit is not from Stripe.
const maxWebhookBytes = 512 * 1024;

/**
 * `POST /api/stripe/webhook`: no session, the raw body and `Stripe-Signature` instead. 400 when the
 * signature does not prove the body came from Stripe recently; 200 once the event is applied, was
 * applied before, or is of a type Coinslot does not use; 500 when applying failed, so Stripe retries.
 */
export function webhookRoutes(context: BillingContext): Hono {
  const app = new Hono();
  app.post(
    "/api/stripe/webhook",
    limitBody({ maxBytes: maxWebhookBytes, advice: "A Stripe event is never this large." }),
    async (httpContext) => {
      const signature = httpContext.req.header("stripe-signature");
      if (!signature) {
        throw new AppError(
          "MISSING_SIGNATURE",
          "No Stripe-Signature header. Send webhooks from Stripe (or `stripe listen`), not by hand.",
        );
      }
      const body = new Uint8Array(await httpContext.req.arrayBuffer());
      const verified = verifyEvent({ body, signature, secret: context.config.stripeWebhookSecret });
      if (verified.error !== null) {
        recordWebhookEvent("unverified", "bad_signature");
        throw new AppError(
          "INVALID_SIGNATURE",
          `The Stripe signature does not match: ${verified.error} Check that STRIPE_WEBHOOK_SECRET is this endpoint's signing secret, that the body reaches the server unchanged, and that the server clock is right.`,
        );
      }
      const { event } = verified;
      let outcome: string;
      try {
        outcome = await applyStripeEvent(context, event);
      } catch (error) {
        recordWebhookEvent(event.type, "failed");
        context.logger.error({ err: error, eventId: event.id, type: event.type }, "stripe event not applied");
        throw new AppError("WEBHOOK_NOT_APPLIED", "The event was not applied; Stripe will deliver it again.");
      }
      recordWebhookEvent(event.type, outcome);
      context.logger.info({ eventId: event.id, type: event.type, outcome }, "stripe event");
      return httpContext.json({ received: true, outcome });
    },
  );
  return app;
}
