import { createHash } from "node:crypto";
import type { SessionUser } from "../auth/types.js";
import { transaction } from "../db/pool.js";
import { AppError } from "../http/errors.js";
import {
  findPayment,
  insertPendingPayment,
  type Payment,
  type PaymentAttention,
} from "../ledger/payments.js";
import type { BillingContext } from "./context.js";
import { fulfilCheckout } from "./fulfil.js";
import { checkoutFacts } from "./stripe-objects.js";

export const simulatedSessionPrefix = "cs_sim_";

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/** The Stripe error's type and code, for logs; never shown to the user. */
function stripeFailure(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: String(error) };
  const { type, code, statusCode } = error as { type?: string; code?: string; statusCode?: number };
  return { message: error.message, type, code, statusCode };
}

function stripeUnavailable(context: BillingContext, error: unknown, what: string): AppError {
  context.logger.error({ stripe: stripeFailure(error) }, `stripe: ${what} failed`);
  return new AppError(
    "STRIPE_UNAVAILABLE",
    502,
    "The payment provider did not answer. Try again in a minute.",
  );
}

/**
 * Starts a checkout of `amountCents` for `user` and returns where to send them. `requestKey` names
 * the click: the same key gives the same session (Stripe's idempotency key, or the simulator's id),
 * so a double click or a retried request never opens two payments.
 */
export async function startCheckout(
  context: BillingContext,
  input: { user: SessionUser; amountCents: number; requestKey: string },
): Promise<{ url: string; checkoutSessionId: string }> {
  const { config, stripe } = context;
  const { user, amountCents } = input;
  const idempotencyKey = `checkout:${user.id}:${input.requestKey}`;
  let checkout: { url: string; checkoutSessionId: string };
  if (!stripe) {
    const checkoutSessionId = `${simulatedSessionPrefix}${digest(idempotencyKey)}`;
    checkout = { checkoutSessionId, url: `${config.appUrl}/simulator/checkout/${checkoutSessionId}` };
  } else {
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
          customer_email: user.email,
          metadata: { user_id: user.id },
          // Refund and dispute events carry the charge, not the session: the user id rides along.
          payment_intent_data: { metadata: { user_id: user.id } },
          success_url: `${config.appUrl}/?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
          cancel_url: `${config.appUrl}/?checkout=cancel`,
        },
        { idempotencyKey },
      );
      if (!session.url) throw new Error(`session ${session.id} came back without a url`);
      checkout = { checkoutSessionId: session.id, url: session.url };
    } catch (error) {
      throw stripeUnavailable(context, error, "creating a checkout session");
    }
  }
  await insertPendingPayment(context.pool, {
    checkoutSessionId: checkout.checkoutSessionId,
    userId: user.id,
    amountCents,
    currency: config.currency,
  });
  return checkout;
}

export type PaymentView = {
  checkoutSessionId: string;
  amountCents: number;
  currency: string;
  status: string;
  credited: boolean;
};

const attentionMessages: Record<PaymentAttention, string> = {
  not_created_here: "This payment was not started from Coinslot's buy-credits form, so it was not credited.",
  amount_mismatch:
    "The amount paid differs from the amount this checkout was started for, so it was not credited.",
  currency_mismatch:
    "This checkout was paid in another currency than it was started in, so it was not credited.",
  user_mismatch: "This checkout names another account than the one that started it, so it was not credited.",
  unknown_user: "The account this checkout was started for no longer exists, so it was not credited.",
};

function needsAttention(payment: Payment): AppError {
  const reason = payment.attention ?? "not_created_here";
  return new AppError(
    "PAYMENT_NEEDS_ATTENTION",
    409,
    `${attentionMessages[reason]} Nothing was added to your balance; contact support with checkout id ${payment.checkoutSessionId} to have it credited or refunded.`,
  );
}

/**
 * The success page's check: with Stripe, retrieves the session and fulfils it through the same
 * exactly-once path as the webhook, so a paid user is credited even when webhooks are not arriving.
 * The simulator already delivered its webhook before redirecting, so it only reads the payment.
 * Only a session Coinslot started for this person is asked about: any other id is answered from
 * the database, and `beforeStripeCall` (the rate limit) runs only when Stripe is really asked.
 */
export async function confirmCheckout(
  context: BillingContext,
  input: { user: SessionUser; checkoutSessionId: string; beforeStripeCall?: () => Promise<void> },
): Promise<PaymentView> {
  const { stripe } = context;
  const notFound = new AppError(
    "PAYMENT_NOT_FOUND",
    404,
    "No checkout with this id was started from Coinslot for you. Start a new purchase from the buy-credits form.",
  );
  const known = await findPayment(context.pool, input.checkoutSessionId);
  if (!known || known.userId !== input.user.id) throw notFound;
  // Credited, failed or kept for a person: there is nothing left to ask Stripe, so polling is free.
  const settled = known.creditedAt || known.status === "failed" || known.attention;
  if (stripe && !settled && !input.checkoutSessionId.startsWith(simulatedSessionPrefix)) {
    await input.beforeStripeCall?.();
    let session: Awaited<ReturnType<typeof stripe.checkout.sessions.retrieve>>;
    try {
      session = await stripe.checkout.sessions.retrieve(input.checkoutSessionId);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) throw notFound;
      throw stripeUnavailable(context, error, "retrieving a checkout session");
    }
    // A session naming someone else is kept for attention by the same path as the webhook's.
    await transaction(context.pool, (client) => fulfilCheckout(context, client, checkoutFacts(session)));
  }
  const payment = settled ? known : await findPayment(context.pool, input.checkoutSessionId);
  if (!payment || payment.userId !== input.user.id) throw notFound;
  if (payment.attention && !payment.creditedAt) throw needsAttention(payment);
  return {
    checkoutSessionId: payment.checkoutSessionId,
    amountCents: payment.amountCents,
    currency: payment.currency,
    status: payment.status,
    credited: payment.creditedAt !== null,
  };
}
