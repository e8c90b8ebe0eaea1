import type { Stripe } from "./stripe.js";

/**
 * Stripe objects reduced to what billing decides on. Webhook events and the success page's
 * retrieval both pass through here, so both paths fulfil from exactly the same facts.
 */
export type CheckoutFacts = {
  checkoutSessionId: string;
  paymentIntentId: string | null;
  /** `client_reference_id`, else `metadata.user_id`: who pays. Null when the session names nobody. */
  userId: string | null;
  amountCents: number;
  currency: string;
  paid: boolean;
};

export type RefundFacts = { paymentIntentId: string | null; refundedCents: number; currency: string };

export type DisputeFacts = {
  disputeId: string;
  paymentIntentId: string | null;
  amountCents: number;
  currency: string;
  status: string;
};

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === "string" ? value : value.id;
}

export function checkoutFacts(session: Stripe.Checkout.Session): CheckoutFacts {
  return {
    checkoutSessionId: session.id,
    paymentIntentId: idOf(session.payment_intent),
    userId: session.client_reference_id || session.metadata?.user_id || null,
    amountCents: session.amount_total ?? 0,
    currency: (session.currency ?? "").toLowerCase(),
    // "no_payment_required" (a 100% coupon) is not money received, so it credits nothing.
    paid: session.payment_status === "paid",
  };
}

export function refundFacts(charge: Stripe.Charge): RefundFacts {
  return {
    paymentIntentId: idOf(charge.payment_intent),
    refundedCents: charge.amount_refunded,
    currency: charge.currency.toLowerCase(),
  };
}

export function disputeFacts(dispute: Stripe.Dispute): DisputeFacts {
  return {
    disputeId: dispute.id,
    paymentIntentId: idOf(dispute.payment_intent),
    amountCents: dispute.amount,
    currency: dispute.currency.toLowerCase(),
    status: dispute.status,
  };
}

/** Dispute statuses in which the money stayed with (or came back to) the merchant. */
export function disputeFavoursMerchant(status: string): boolean {
  return status === "won" || status === "warning_closed" || status === "prevented";
}
