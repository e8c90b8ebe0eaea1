import { type PoolClient, transaction } from "../db/pool.js";
import { fulfilPayment, topUpFailed, topUpSucceeded } from "./auto-topup-outcomes.js";
import type { BillingContext } from "./context.js";
import { reconcileClawbacks } from "./fulfil.js";
import {
  lockPaymentByIntent,
  lockPaymentIntent,
  lockRecordedPayment,
  recordStripeEvent,
  reportDispute,
  reportRefund,
  setStripeEventUser,
  updatePayment,
} from "./payments.js";
import type { Stripe } from "./stripe.js";
import { checkoutFacts, disputeFacts, refundFacts } from "./stripe-objects.js";

/** What became of an event; also the label of the webhook metric. */
export type EventOutcome = string;

type Handler = (context: BillingContext, client: PoolClient, event: Stripe.Event) => Promise<EventOutcome>;

async function completed(context: BillingContext, client: PoolClient, event: Stripe.Event) {
  return fulfilPayment(context, client, checkoutFacts(event.data.object as Stripe.Checkout.Session));
}

/** A failed or expired session is recorded so the UI can say so; it never touches credits. */
function closedWith(status: "failed" | "expired"): Handler {
  return async (_context, client, event) => {
    const facts = checkoutFacts(event.data.object as Stripe.Checkout.Session);
    if (!facts.userId) return "unknown_user";
    // A session Coinslot did not create is not its business until it is paid (and then not credited).
    const payment = await lockRecordedPayment(client, facts.checkoutSessionId);
    if (!payment) return "not_created_here";
    if (payment.creditedAt || payment.status !== "pending") return "unchanged";
    await updatePayment(client, payment.checkoutSessionId, { status });
    return status;
  };
}

/**
 * Records what Stripe reported about a payment intent, then reconciles the payment if it is already
 * credited. When the purchase has not arrived yet, the report waits and the purchase reconciles it.
 */
async function reportAndReconcile(
  context: BillingContext,
  client: PoolClient,
  input: { eventId: string; paymentIntentId: string; report: (userId: string | null) => Promise<void> },
): Promise<EventOutcome> {
  await lockPaymentIntent(client, input.paymentIntentId);
  const payment = await lockPaymentByIntent(client, input.paymentIntentId);
  await input.report(payment?.userId ?? null);
  if (!payment) return "recorded_before_purchase";
  await setStripeEventUser(client, input.eventId, payment.userId);
  // Never credited (not yet, or never: a session Coinslot did not create): nothing to claw back.
  if (!payment.creditedAt) return "recorded_before_credit";
  await reconcileClawbacks(context, client, payment);
  return "reconciled";
}

async function refunded(context: BillingContext, client: PoolClient, event: Stripe.Event) {
  const facts = refundFacts(event.data.object as Stripe.Charge);
  const { paymentIntentId } = facts;
  if (!paymentIntentId) return "no_payment_intent";
  return reportAndReconcile(context, client, {
    eventId: event.id,
    paymentIntentId,
    report: (userId) => reportRefund(client, { paymentIntentId, userId, refundedCents: facts.refundedCents }),
  });
}

async function disputed(context: BillingContext, client: PoolClient, event: Stripe.Event) {
  const facts = disputeFacts(event.data.object as Stripe.Dispute);
  const { paymentIntentId } = facts;
  if (!paymentIntentId) return "no_payment_intent";
  return reportAndReconcile(context, client, {
    eventId: event.id,
    paymentIntentId,
    report: (userId) => reportDispute(client, { ...facts, paymentIntentId, userId }),
  });
}

const handlers: Record<string, Handler> = {
  "checkout.session.completed": completed,
  "checkout.session.async_payment_succeeded": completed,
  "checkout.session.async_payment_failed": closedWith("failed"),
  "checkout.session.expired": closedWith("expired"),
  // Auto top-ups are PaymentIntents of their own, credited through the same purchase path.
  "payment_intent.succeeded": topUpSucceeded,
  "payment_intent.payment_failed": topUpFailed,
  "charge.refunded": refunded,
  "charge.dispute.created": disputed,
  "charge.dispute.updated": disputed,
  "charge.dispute.closed": disputed,
};

function userOf(event: Stripe.Event): string | null {
  if (!event.type.startsWith("checkout.session.")) return null;
  return checkoutFacts(event.data.object as Stripe.Checkout.Session).userId;
}

/**
 * Applies a verified event at most once: the event id is recorded in the same transaction as its
 * effect, so a replay finds it and does nothing, and a failure rolls both back for Stripe to retry.
 * Concurrent deliveries of one event wait on the first one's insert and then see it.
 */
export async function applyStripeEvent(context: BillingContext, event: Stripe.Event): Promise<EventOutcome> {
  const handler = handlers[event.type];
  // Unknown types are acknowledged and not recorded: Stripe sends whatever the endpoint subscribes to.
  if (!handler) return "ignored";
  return transaction(context.pool, async (client) => {
    const fresh = await recordStripeEvent(client, {
      eventId: event.id,
      type: event.type,
      userId: userOf(event),
    });
    if (!fresh) return "duplicate";
    return handler(context, client, event);
  });
}
