import type { SessionUser } from "../auth/types.js";
import { AppError } from "../kit/errors.js";
import type { BillingContext } from "./context.js";
import { simulatedCheckout } from "./simulated-checkout.js";
import { stripeCheckout } from "./stripe-checkout.js";
import type { CheckoutFacts } from "./stripe-objects.js";

export type OpenedCheckout = { checkoutSessionId: string; url: string };

/** Who pays: the Coinslot user credited, and the email the payment page is filled in with. */
export type Buyer = Pick<SessionUser, "id" | "email">;

/**
 * Where people pay: Stripe Checkout, or the offline simulator standing in for it when
 * STRIPE_SECRET_KEY is unset. Both answer the same questions, so checkout is one flow either way.
 */
export type CheckoutProvider = {
  /** False when nobody may pay here: no Stripe key, and the simulator is not allowed at this URL. */
  available: boolean;
  /**
   * Opens a session to pay `amountCents`; the same `idempotencyKey` always gives the same session.
   * The buyer comes back to `returnUrl` (already checked against CHECKOUT_RETURN_ORIGINS) with
   * `checkout=success` or `checkout=cancel`; without it, to Coinslot's own page.
   */
  createSession(input: {
    user: Buyer;
    amountCents: number;
    idempotencyKey: string;
    returnUrl?: string;
    /** Also saves the card to this Stripe customer for off-session payments (auto top-up). */
    saveCardFor?: string;
  }): Promise<OpenedCheckout>;
  /**
   * Whether asking about this session can tell the success page more than the database already
   * does. Asking may cost a call to the provider, which the caller rate-limits.
   */
  shouldLookUp(checkoutSessionId: string): boolean;
  /** The session as the provider sees it now, or null when the provider knows no such session. */
  lookUpSession(checkoutSessionId: string): Promise<CheckoutFacts | null>;
};

/** 503 CHECKOUT_NOT_CONFIGURED, naming what to set, for a provider that is not `available`. */
export function checkoutNotConfigured(): AppError {
  // The simulator hands out credits for free; behind a public URL that is real AI spend for nothing.
  return new AppError(
    "CHECKOUT_NOT_CONFIGURED",
    "Buying credits is not set up: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET (or STRIPE_SIMULATOR=on for a test deployment whose credits are free).",
  );
}

/**
 * Stripe when billing has a Stripe client (STRIPE_SECRET_KEY is set), else the simulator.
 *
 * @example
 * const { url } = await checkoutProvider(context).createSession({ user, amountCents: 300, idempotencyKey });
 */
export function checkoutProvider(context: BillingContext): CheckoutProvider {
  return context.stripe ? stripeCheckout(context, context.stripe) : simulatedCheckout(context);
}
