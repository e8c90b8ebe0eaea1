import type { Dependencies } from "../dependencies.js";
import { createStripeClient, type Stripe } from "./stripe.js";

/** What billing needs from the app: the shared dependencies, plus the Stripe client when configured. */
export type BillingContext = Dependencies & { stripe: Stripe | undefined };

/**
 * Billing's context for these dependencies: the Stripe client when STRIPE_SECRET_KEY is set.
 *
 * @example
 * const billing = createBillingContext(dependencies);
 */
export function createBillingContext(dependencies: Dependencies): BillingContext {
  return { ...dependencies, stripe: createStripeClient(dependencies.config) };
}
