import { createHash } from "node:crypto";
import type { Logger } from "../logger.js";
import type { TopUp } from "./auto-topup-repo.js";
import { simulatedCharge } from "./auto-topup-simulated.js";
import type { BillingContext } from "./context.js";
import type { Stripe } from "./stripe.js";

/** What an off-session charge came to. `failed` needs the person; `unavailable` is retried. */
export type ChargeOutcome =
  | { kind: "succeeded" | "processing"; paymentIntentId: string; amountCents: number; currency: string }
  | { kind: "failed"; paymentIntentId: string | null; code: string; message: string }
  | { kind: "unavailable"; error: string };

/**
 * Where saved cards live and are charged without the person: Stripe, or the offline simulator in
 * its place when STRIPE_SECRET_KEY is unset (as for checkout, see checkout-provider.ts).
 */
export type AutoTopUpProvider = {
  /** The Stripe customer the person's card is saved to; made once (its idempotency key names the person). */
  createCustomer(input: { userId: string; email: string }): Promise<string>;
  /** The newest card saved to the customer, or null when none is. */
  savedCard(customerId: string): Promise<string | null>;
  /** One off-session PaymentIntent for the top-up; the same top-up always gets the same one. */
  charge(input: { topUp: TopUp; customerId: string; paymentMethodId: string }): Promise<ChargeOutcome>;
};

export const simulatedCustomerPrefix = "cus_sim_";

/** The idempotency key of a top-up's PaymentIntent: a crashed worker's retry gets the same payment. */
export function chargeKey(topUp: Pick<TopUp, "requestKey">): string {
  return `auto-topup:${topUp.requestKey}`;
}

type StripeFailure = { type?: string; code?: string; statusCode?: number; payment_intent?: { id?: string } };

/** Stripe's words for the person: what happened and, through the notice, what to do. */
function failureMessage(code: string, stripeMessage: string): string {
  if (code === "authentication_required") return "Your bank asks you to confirm this payment yourself.";
  if (code === "card_declined" || code === "insufficient_funds") return "Your card was declined.";
  if (code === "expired_card") return "Your saved card has expired.";
  return stripeMessage.slice(0, 300) || "The payment did not go through.";
}

function fromStripeError(logger: Logger, error: unknown): ChargeOutcome {
  const failure = (error ?? {}) as StripeFailure;
  const message = error instanceof Error ? error.message : String(error);
  // A card error (402) is the bank's answer; an invalid request (a detached card, a deleted
  // customer) will not improve by asking again either. Anything else is Stripe or the network.
  if (failure.type === "StripeCardError" || failure.type === "StripeInvalidRequestError") {
    const code = failure.code ?? "card_declined";
    return {
      kind: "failed",
      paymentIntentId: failure.payment_intent?.id ?? null,
      code,
      message: failureMessage(code, message),
    };
  }
  logger.warn(
    { stripe: { message, type: failure.type, statusCode: failure.statusCode } },
    "stripe: off-session charge not answered",
  );
  return { kind: "unavailable", error: message.slice(0, 500) };
}

function fromIntent(intent: Stripe.PaymentIntent): ChargeOutcome {
  if (intent.status === "succeeded" || intent.status === "processing") {
    return {
      kind: intent.status === "succeeded" ? "succeeded" : "processing",
      paymentIntentId: intent.id,
      amountCents: intent.amount_received || intent.amount,
      currency: intent.currency.toLowerCase(),
    };
  }
  // Off-session, Stripe answers a card that wants authentication with an error; a PaymentIntent
  // left waiting for an action or a new card is the same outcome for the person.
  const code = intent.last_payment_error?.code ?? "authentication_required";
  return {
    kind: "failed",
    paymentIntentId: intent.id,
    code,
    message: failureMessage(code, intent.last_payment_error?.message ?? ""),
  };
}

function stripeProvider(context: BillingContext, stripe: Stripe): AutoTopUpProvider {
  const { config, logger } = context;
  return {
    async createCustomer({ userId, email }) {
      const customer = await stripe.customers.create(
        { email, metadata: { user_id: userId } },
        // Two first clicks make one customer; an email changed since makes a new key, not a 400.
        {
          idempotencyKey: `customer:${userId}:${createHash("sha256").update(email).digest("hex").slice(0, 16)}`,
        },
      );
      return customer.id;
    },
    async savedCard(customerId) {
      const cards = await stripe.customers.listPaymentMethods(customerId, { type: "card", limit: 1 });
      return cards.data[0]?.id ?? null;
    },
    async charge({ topUp, customerId, paymentMethodId }) {
      try {
        const intent = await stripe.paymentIntents.create(
          {
            amount: topUp.amountCents,
            currency: config.currency,
            customer: customerId,
            payment_method: paymentMethodId,
            off_session: true,
            confirm: true,
            description: "Coinslot credits (auto top-up)",
            // The webhook finds the person and the top-up by these, whatever arrives first.
            metadata: { user_id: topUp.userId, auto_topup_id: topUp.id },
          },
          { idempotencyKey: chargeKey(topUp) },
        );
        return fromIntent(intent);
      } catch (error) {
        return fromStripeError(logger, error);
      }
    },
  };
}

function simulatedProvider(context: BillingContext): AutoTopUpProvider {
  return {
    async createCustomer({ userId }) {
      return `${simulatedCustomerPrefix}${createHash("sha256").update(userId).digest("hex").slice(0, 24)}`;
    },
    // The simulator records the card on its Checkout page's Pay, straight into the settings.
    savedCard: async () => null,
    charge: (input) => simulatedCharge(context, input),
  };
}

/**
 * Stripe when billing has a Stripe client, else the simulator (available where checkout's is).
 *
 * @example
 * const outcome = await autoTopUpProvider(context).charge({ topUp, customerId, paymentMethodId });
 */
export function autoTopUpProvider(context: BillingContext): AutoTopUpProvider {
  return context.stripe ? stripeProvider(context, context.stripe) : simulatedProvider(context);
}
