import { AppError } from "../kit/errors.js";
import type { Logger } from "../logger.js";
import type { CheckoutProvider } from "./checkout-provider.js";
import type { BillingContext } from "./context.js";
import { returnUrlFor } from "./return-url.js";
import { simulatedSessionPrefix } from "./simulated-checkout.js";
import type { Stripe } from "./stripe.js";
import { checkoutFacts } from "./stripe-objects.js";

/** The Stripe error's type and code, for logs; never shown to the user. */
function stripeFailure(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: String(error) };
  const { type, code, statusCode } = error as { type?: string; code?: string; statusCode?: number };
  return { message: error.message, type, code, statusCode };
}

function stripeUnavailable(logger: Logger, error: unknown, what: string): AppError {
  logger.error({ stripe: stripeFailure(error) }, `stripe: ${what} failed`);
  return new AppError("STRIPE_UNAVAILABLE", "The payment provider did not answer. Try again in a minute.");
}

/**
 * Stripe Checkout as a checkout provider. The click's idempotency key goes to Stripe, so a retried
 * request gets the session Stripe already made. 502 `STRIPE_UNAVAILABLE` when Stripe does not answer.
 */
export function stripeCheckout(
  context: Pick<BillingContext, "config" | "logger">,
  stripe: Stripe,
): CheckoutProvider {
  const { config, logger } = context;
  return {
    available: true,
    async createSession({ user, amountCents, idempotencyKey, returnUrl, saveCardFor }) {
      try {
        const session = await stripe.checkout.sessions.create(
          {
            mode: "payment",
            line_items: [
              {
                quantity: 1,
                price_data: {
                  currency: config.currency,
                  unit_amount: amountCents,
                  product_data: { name: "Coinslot credits" },
                },
              },
            ],
            client_reference_id: user.id,
            // Saving the card for auto top-up needs the customer it is saved to (then Checkout
            // takes the email from it); otherwise the email only fills in the form.
            ...(saveCardFor ? { customer: saveCardFor } : { customer_email: user.email }),
            metadata: { user_id: user.id },
            // Refund and dispute events carry the charge, not the session: the user id rides along.
            payment_intent_data: {
              metadata: { user_id: user.id },
              ...(saveCardFor && { setup_future_usage: "off_session" as const }),
            },
            // Stripe then keeps an invoice for the payment and emails its own receipt with it, beside
            // Coinslot's receipt (mail kind "receipt"), so a buyer has a document Stripe can vouch for.
            invoice_creation: { enabled: true },
            success_url: returnUrl
              ? returnUrlFor(returnUrl, "success")
              : `${config.appUrl}/?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
            cancel_url: returnUrl ? returnUrlFor(returnUrl, "cancel") : `${config.appUrl}/?checkout=cancel`,
          },
          { idempotencyKey },
        );
        if (!session.url) throw new Error(`session ${session.id} came back without a url`);
        return { checkoutSessionId: session.id, url: session.url };
      } catch (error) {
        throw stripeUnavailable(logger, error, "creating a checkout session");
      }
    },
    // A simulated session recorded before STRIPE_SECRET_KEY was set is not Stripe's to answer.
    shouldLookUp: (checkoutSessionId) => !checkoutSessionId.startsWith(simulatedSessionPrefix),
    async lookUpSession(checkoutSessionId) {
      let session: Stripe.Checkout.Session;
      try {
        session = await stripe.checkout.sessions.retrieve(checkoutSessionId);
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return null;
        throw stripeUnavailable(logger, error, "retrieving a checkout session");
      }
      return checkoutFacts(session);
    },
  };
}
