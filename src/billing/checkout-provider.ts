import type { SessionUser } from "../auth/types.js";
import type { BillingContext } from "./context.js";
import { simulatedCheckout } from "./simulated-checkout.js";
import { stripeCheckout } from "./stripe-checkout.js";
import type { CheckoutFacts } from "./stripe-objects.js";

export type OpenedCheckout = { checkoutSessionId: string; url: string };

/**
 * Where people pay: Stripe Checkout, or the offline simulator standing in for it when
 * STRIPE_SECRET_KEY is unset. Both answer the same questions, so checkout is one flow either way.
 */
export type CheckoutProvider = {
  /** False when nobody may pay here: no Stripe key, and the simulator is not allowed at this URL. */
  available: boolean;
  /** Opens a session to pay `amountCents`; the same `idempotencyKey` always gives the same session. */
  createSession(input: {
    user: SessionUser;
    amountCents: number;
    idempotencyKey: string;
  }): Promise<OpenedCheckout>;
  /**
   * Whether asking about this session can tell the success page more than the database already
   * does. Asking may cost a call to the provider, which the caller rate-limits.
   */
  shouldLookUp(checkoutSessionId: string): boolean;
  /** The session as the provider sees it now, or null when the provider knows no such session. */
  lookUpSession(checkoutSessionId: string): Promise<CheckoutFacts | null>;
};

/**
 * Stripe when billing has a Stripe client (STRIPE_SECRET_KEY is set), else the simulator.
 *
 * @example
 * const { url } = await checkoutProvider(context).createSession({ user, amountCents: 300, idempotencyKey });
 */
export function checkoutProvider(context: BillingContext): CheckoutProvider {
  return context.stripe ? stripeCheckout(context, context.stripe) : simulatedCheckout(context);
}
