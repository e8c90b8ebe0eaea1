import { findUserEmail } from "../auth/users.js";
import { topupProblem } from "../billing/amount.js";
import { startCheckout } from "../billing/checkout.js";
import { checkoutNotConfigured, checkoutProvider } from "../billing/checkout-provider.js";
import type { BillingContext } from "../billing/context.js";
import { countAttempt, rateLimitedError } from "../billing/rate-limit.js";
import { allowedReturnUrl } from "../billing/return-url.js";
import { AppError } from "../kit/errors.js";
import { requireCustomer } from "./customers.js";

/**
 * Starts a purchase of credits for the app's customer and answers where to send them: billing's own
 * checkout, so the payment is recorded for the customer's Coinslot user before anyone pays and the
 * webhook credits it exactly once, under the same per-user checkout limit as `/api/checkout`.
 * `returnUrl` must be on CHECKOUT_RETURN_ORIGINS (400 RETURN_URL_NOT_ALLOWED otherwise), and every
 * check comes before anything is written. `onRateLimited` hears the seconds to wait, for Retry-After.
 *
 * @example
 * const { url } = await startCustomerCheckout(billing, { customer: "u_42", amountCents: 500, returnUrl, requestKey });
 */
export async function startCustomerCheckout(
  billing: BillingContext,
  input: { customer: string; amountCents: number; returnUrl: string; requestKey: string },
  onRateLimited: (retryAfterSeconds: number) => void = () => {},
): Promise<{ url: string }> {
  const { pool, config } = billing;
  const problem = topupProblem(input.amountCents, config);
  if (problem) throw new AppError("INVALID_AMOUNT", problem);
  const returnUrl = allowedReturnUrl(input.returnUrl, config.checkoutReturnOrigins);
  if (!returnUrl) {
    const allowed = config.checkoutReturnOrigins.join(", ") || "none yet";
    throw new AppError(
      "RETURN_URL_NOT_ALLOWED",
      `returnUrl must be an http(s) URL on one of the origins in CHECKOUT_RETURN_ORIGINS (now: ${allowed}); add your app's origin, such as https://app.example.com, to that setting.`,
    );
  }
  const customer = await requireCustomer(pool, input.customer);
  if (!checkoutProvider(billing).available) throw checkoutNotConfigured();
  // Counted once the request is valid: only those reach Stripe and write a payment row.
  const attempt = await countAttempt(pool, {
    userId: customer.userId,
    action: "checkout",
    ...config.checkoutRateLimit,
  });
  if (!attempt.allowed) {
    onRateLimited(attempt.retryAfterSeconds);
    throw rateLimitedError(attempt.retryAfterSeconds);
  }
  const email = await findUserEmail(pool, customer.userId);
  if (!email) throw new AppError("CUSTOMER_NOT_FOUND", `Customer "${customer.id}" has no Coinslot user.`);
  const { url } = await startCheckout(billing, {
    user: { id: customer.userId, email },
    amountCents: input.amountCents,
    requestKey: input.requestKey,
    returnUrl: returnUrl.href,
  });
  return { url };
}
