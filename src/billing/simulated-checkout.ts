import { createHash } from "node:crypto";
import type { CheckoutProvider } from "./checkout-provider.js";
import type { BillingContext } from "./context.js";

export const simulatedSessionPrefix = "cs_sim_";

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/**
 * The offline simulator as a checkout provider: a session is a page of this server (see
 * `simulator.ts`) named by a digest of the click, so the same click opens the same page. Its Pay
 * button delivers the webhook before returning to the success page, so the database already knows
 * everything there is to know and nothing is ever looked up.
 */
export function simulatedCheckout(context: Pick<BillingContext, "config">): CheckoutProvider {
  const { config } = context;
  return {
    // The simulator hands out credits for nothing: only on a loopback APP_URL, or STRIPE_SIMULATOR=on.
    available: config.stripeSimulator,
    async createSession({ idempotencyKey, returnUrl }) {
      const checkoutSessionId = `${simulatedSessionPrefix}${digest(idempotencyKey)}`;
      // The page checks `return` against CHECKOUT_RETURN_ORIGINS again before it redirects there.
      const query = returnUrl ? `?return=${encodeURIComponent(returnUrl)}` : "";
      return { checkoutSessionId, url: `${config.appUrl}/simulator/checkout/${checkoutSessionId}${query}` };
    },
    shouldLookUp: () => false,
    // Never reached while shouldLookUp is false; a simulated session exists only in the database.
    lookUpSession: async () => null,
  };
}
