import { createHash } from "node:crypto";
import type { ChargeOutcome } from "./auto-topup-provider.js";
import type { TopUp } from "./auto-topup-repo.js";
import type { BillingContext } from "./context.js";
import { deliverEvent, simulatedEvent } from "./simulated-events.js";

/**
 * The simulator's saved cards and off-session charges. Its test cards are Stripe's own numbers, so
 * what works by hand here works the same against Stripe's test mode: 4242 4242 4242 4242 always
 * pays, 4000 0027 6000 3184 always asks for authentication (off-session it cannot be given), and
 * 4000 0000 0000 0002 is always declined.
 */
export type SimulatedCardBehaviour = "succeeds" | "authentication_required" | "card_declined";

const cards: Record<string, SimulatedCardBehaviour> = {
  "4242424242424242": "succeeds",
  "4000002760003184": "authentication_required",
  "4000000000000002": "card_declined",
};

export const simulatedCardNumbers = Object.keys(cards);

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 24);
}

/**
 * The simulated PaymentMethod id for a card number typed on the simulator's page (spaces allowed),
 * or null for a number that is not one of the test cards. The last four digits ride in the id, so
 * a charge knows how the card behaves without any other record.
 */
export function simulatedPaymentMethod(cardNumber: string, owner: string): string | null {
  const digits = cardNumber.replace(/[\s-]/g, "");
  if (!cards[digits]) return null;
  return `pm_sim_${digits.slice(-4)}_${digest(`${owner}:${digits}`)}`;
}

function behaviourOf(paymentMethodId: string): SimulatedCardBehaviour {
  const last4 = /^pm_sim_(\d{4})_/.exec(paymentMethodId)?.[1];
  const number = simulatedCardNumbers.find((candidate) => candidate.endsWith(last4 ?? "none"));
  return number ? (cards[number] ?? "card_declined") : "card_declined";
}

const failures = {
  authentication_required: "Your bank asks you to confirm this payment yourself.",
  card_declined: "Your card was declined.",
} as const;

/**
 * An off-session PaymentIntent, simulated: the outcome follows the saved test card, and the signed
 * `payment_intent.succeeded` or `payment_intent.payment_failed` goes to the real webhook route over
 * HTTP before the answer returns, as Stripe's webhook may well overtake its API response.
 */
export async function simulatedCharge(
  context: BillingContext,
  input: { topUp: TopUp; customerId: string; paymentMethodId: string },
): Promise<ChargeOutcome> {
  const { topUp, customerId, paymentMethodId } = input;
  const { config, logger } = context;
  if (!config.stripeSimulator) return { kind: "unavailable", error: "the checkout simulator is off" };
  const paymentIntentId = `pi_sim_topup_${digest(topUp.requestKey)}`;
  const behaviour = behaviourOf(paymentMethodId);
  const intent: Record<string, unknown> = {
    id: paymentIntentId,
    object: "payment_intent",
    amount: topUp.amountCents,
    amount_received: behaviour === "succeeds" ? topUp.amountCents : 0,
    currency: topUp.currency,
    customer: customerId,
    payment_method: paymentMethodId,
    status: behaviour === "succeeds" ? "succeeded" : "requires_payment_method",
    metadata: { user_id: topUp.userId, auto_topup_id: topUp.id },
    last_payment_error:
      behaviour === "succeeds"
        ? null
        : { type: "card_error", code: behaviour, decline_code: behaviour, message: failures[behaviour] },
    livemode: false,
  };
  const type = behaviour === "succeeds" ? "payment_intent.succeeded" : "payment_intent.payment_failed";
  const delivery = await deliverEvent(
    config,
    // One event id per top-up and outcome, as Stripe sends one event per change: a retried worker
    // delivers the same event again, which the webhook recognises.
    simulatedEvent(type, intent, digest(`${paymentIntentId}:${type}`)),
  ).catch((error: unknown) => ({ ok: false as const, status: 0, body: String(error) }));
  // The answer below settles the top-up anyway; a lost event is what real webhooks do too.
  if (!delivery.ok)
    logger.warn({ delivery, paymentIntentId }, "simulated payment_intent event not delivered");
  if (behaviour === "succeeds") {
    return { kind: "succeeded", paymentIntentId, amountCents: topUp.amountCents, currency: topUp.currency };
  }
  return { kind: "failed", paymentIntentId, code: behaviour, message: failures[behaviour] };
}
