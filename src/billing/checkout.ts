import type { SessionUser } from "../auth/types.js";
import { transaction } from "../db/pool.js";
import { AppError } from "../kit/errors.js";
import { fulfilPayment } from "./auto-topup-outcomes.js";
import { type Buyer, checkoutProvider, type OpenedCheckout } from "./checkout-provider.js";
import type { BillingContext } from "./context.js";
import { findPayment, insertPendingPayment, type Payment, type PaymentAttention } from "./payments.js";

/**
 * Starts a checkout of `amountCents` for `user` and returns where to send them. `requestKey` names
 * the click: the same key gives the same session (Stripe's idempotency key, or the simulator's id),
 * so a double click or a retried request never opens two payments. The session is recorded before
 * anyone is sent to pay, so only sessions started here are ever credited. `returnUrl`, already
 * checked against CHECKOUT_RETURN_ORIGINS (see `allowedReturnUrl`), is where the buyer comes back.
 */
export async function startCheckout(
  context: BillingContext,
  input: { user: Buyer; amountCents: number; requestKey: string; returnUrl?: string; saveCardFor?: string },
): Promise<OpenedCheckout> {
  const { user, amountCents, returnUrl, saveCardFor } = input;
  const checkout = await checkoutProvider(context).createSession({
    user,
    amountCents,
    idempotencyKey: `checkout:${user.id}:${input.requestKey}`,
    returnUrl,
    saveCardFor,
  });
  await insertPendingPayment(context.pool, {
    checkoutSessionId: checkout.checkoutSessionId,
    userId: user.id,
    amountCents,
    currency: context.config.currency,
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
    `${attentionMessages[reason]} Nothing was added to your balance; contact support with checkout id ${payment.checkoutSessionId} to have it credited or refunded.`,
  );
}

/**
 * The success page's check: asks the checkout provider about the session and fulfils it through
 * the same exactly-once path as the webhook, so a paid user is credited even when webhooks are not
 * arriving. Only a session Coinslot started for this person is asked about: any other id is
 * answered from the database, and `beforeLookUp` (the rate limit) runs only when the provider is
 * really asked (never for the simulator, whose webhook arrived before it redirected here).
 */
export async function confirmCheckout(
  context: BillingContext,
  input: { user: SessionUser; checkoutSessionId: string; beforeLookUp?: () => Promise<void> },
): Promise<PaymentView> {
  const { checkoutSessionId } = input;
  const notFound = new AppError(
    "PAYMENT_NOT_FOUND",
    "No checkout with this id was started from Coinslot for you. Start a new purchase from the buy-credits form.",
  );
  const known = await findPayment(context.pool, checkoutSessionId);
  if (!known || known.userId !== input.user.id) throw notFound;
  // Credited, failed or kept for a person: there is nothing left to ask, so polling is free.
  const settled = known.creditedAt || known.status === "failed" || known.attention;
  const provider = checkoutProvider(context);
  if (!settled && provider.shouldLookUp(checkoutSessionId)) {
    await input.beforeLookUp?.();
    const facts = await provider.lookUpSession(checkoutSessionId);
    if (!facts) throw notFound;
    // A session naming someone else is kept for attention by the same path as the webhook's.
    await transaction(context.pool, (client) => fulfilPayment(context, client, facts));
  }
  const payment = settled ? known : await findPayment(context.pool, checkoutSessionId);
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
