import { createHash, randomBytes } from "node:crypto";
import type { Config } from "../config.js";
import type { Payment } from "./payments.js";
import { signPayload } from "./stripe.js";

/**
 * Stripe-format events for the offline simulator, signed with the webhook secret and sent over HTTP
 * to the real webhook route: the simulator exercises the same path as Stripe, signature included.
 */

function derivedId(prefix: string, checkoutSessionId: string): string {
  return `${prefix}${createHash("sha256").update(checkoutSessionId).digest("hex").slice(0, 24)}`;
}

/** One payment intent per simulated session, as in Stripe: paying twice is the same payment. */
export function simulatedPaymentIntentId(checkoutSessionId: string): string {
  return derivedId("pi_sim_", checkoutSessionId);
}

/**
 * A Stripe-format event of `type` about `object`; its id is random unless `idSuffix` names it (an
 * event that must come out the same each time it is made, as one Stripe event is redelivered).
 */
export function simulatedEvent(
  type: string,
  object: Record<string, unknown>,
  idSuffix = randomBytes(12).toString("hex"),
): Record<string, unknown> {
  return {
    id: `evt_sim_${idSuffix}`,
    object: "event",
    type,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object },
  };
}

export function completedSessionEvent(payment: Payment, config: Config): Record<string, unknown> {
  return simulatedEvent("checkout.session.completed", {
    id: payment.checkoutSessionId,
    object: "checkout.session",
    mode: "payment",
    status: "complete",
    payment_status: "paid",
    amount_total: payment.amountCents,
    currency: payment.currency,
    client_reference_id: payment.userId,
    metadata: { user_id: payment.userId },
    payment_intent: simulatedPaymentIntentId(payment.checkoutSessionId),
    success_url: `${config.appUrl}/?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
    cancel_url: `${config.appUrl}/?checkout=cancel`,
    livemode: false,
  });
}

/** `charge.refunded` carries the cumulative refunded amount, as Stripe's does. */
export function refundedChargeEvent(payment: Payment, totalRefundedCents: number): Record<string, unknown> {
  return simulatedEvent("charge.refunded", {
    id: derivedId("ch_sim_", payment.checkoutSessionId),
    object: "charge",
    amount: payment.amountCents,
    amount_captured: payment.amountCents,
    amount_refunded: totalRefundedCents,
    refunded: totalRefundedCents === payment.amountCents,
    currency: payment.currency,
    paid: true,
    status: "succeeded",
    payment_intent: payment.paymentIntentId,
    metadata: { user_id: payment.userId },
    livemode: false,
  });
}

export type Delivery = { ok: true } | { ok: false; status: number; body: string };

/** POSTs `event` to this server's own webhook route, signed like Stripe signs it. */
export async function deliverEvent(config: Config, event: Record<string, unknown>): Promise<Delivery> {
  const payload = JSON.stringify(event);
  const signature = signPayload({ payload, secret: config.stripeWebhookSecret });
  // The loopback address reaches this very process whatever APP_URL says (a proxy, a public name).
  const response = await fetch(`http://127.0.0.1:${config.port}/api/stripe/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": signature },
    body: payload,
    signal: AbortSignal.timeout(15_000),
  });
  if (response.ok) return { ok: true };
  return { ok: false, status: response.status, body: (await response.text()).slice(0, 500) };
}
