import { findUserEmail } from "../auth/users.js";
import type { PoolClient } from "../db/pool.js";
import { enqueueMail } from "../mail/outbox.js";
import { findSettings, lockTopUpOfIntent, saveSettings, type TopUp, updateTopUp } from "./auto-topup-repo.js";
import type { BillingContext } from "./context.js";
import { type FulfilOutcome, fulfilCheckout } from "./fulfil.js";
import { insertPendingPayment, setStripeEventUser } from "./payments.js";
import { simulatedSessionPrefix } from "./simulated-checkout.js";
import type { Stripe } from "./stripe.js";
import type { CheckoutFacts } from "./stripe-objects.js";

/** Failed payments in a row after which auto top-up turns itself off. */
export const maxFailuresInARow = 3;
/** After the first failure no top-up starts for an hour, after the second for four. */
export const failurePauseMs = 60 * 60 * 1000;
/** Where the email and the notice send the person: the settings section with the finish button. */
export const autoTopUpPagePath = "/account#auto-top-up";

const active = new Set(["pending", "processing"]);

/**
 * Records that a top-up's PaymentIntent exists: on the top-up, and as a payment row keyed by the
 * PaymentIntent id, from the user, amount and currency the top-up recorded before Stripe was asked.
 * That row is what the purchase path credits (only payments Coinslot recorded are), refunds and
 * disputes claw back, and the receipt names. Idempotent; the worker and the webhook both come here.
 */
export async function recordTopUpIntent(client: PoolClient, topUp: TopUp, paymentIntentId: string) {
  await updateTopUp(client, topUp.id, {
    paymentIntentId,
    ...(topUp.status === "pending" && { status: "processing" as const }),
  });
  await insertPendingPayment(client, {
    checkoutSessionId: paymentIntentId,
    userId: topUp.userId,
    amountCents: topUp.amountCents,
    currency: topUp.currency,
  });
}

/**
 * A failed top-up, once (the worker's answer and Stripe's payment_failed event both arrive here):
 * the top-up fails, the failures in a row count up, new top-ups pause (1 h, then 4 h), the third
 * turns auto top-up off, and the person is emailed a link to finish the payment themselves. The
 * caller holds the top-up's row lock.
 */
export async function recordTopUpFailure(
  client: PoolClient,
  topUp: TopUp,
  failure: { paymentIntentId: string | null; code: string; message: string },
): Promise<"failed" | "turned_off" | "unchanged"> {
  if (!active.has(topUp.status)) return "unchanged";
  await updateTopUp(client, topUp.id, {
    status: "failed",
    paymentIntentId: failure.paymentIntentId ?? undefined,
    failureCode: failure.code,
    failureMessage: failure.message,
  });
  const settings = await findSettings(client, topUp.userId, { lock: true });
  const failures = (settings?.consecutiveFailures ?? 0) + 1;
  const turnedOff = failures >= maxFailuresInARow;
  if (settings) {
    await saveSettings(client, {
      userId: topUp.userId,
      currency: settings.currency,
      change: {
        consecutiveFailures: failures,
        pausedUntil: new Date(Date.now() + failurePauseMs * 4 ** Math.min(failures - 1, 4)),
        ...(turnedOff && { enabled: false, disabledReason: "failures" as const }),
      },
    });
  }
  const email = await findUserEmail(client, topUp.userId);
  // A deleted account's address names nobody.
  if (email && !email.endsWith(".invalid")) {
    await enqueueMail(client, {
      kind: "auto-topup-failed",
      to: email,
      userId: topUp.userId,
      data: {
        amountCents: topUp.amountCents,
        currency: topUp.currency,
        reason: failure.message,
        url: autoTopUpPagePath,
        turnedOff,
      },
      dedupeKey: `auto-topup-failed:${topUp.id}`,
    });
  }
  return turnedOff ? "turned_off" : "failed";
}

/**
 * After a payment is credited: a top-up it paid (off-session, or finished by the person through
 * Checkout) succeeds and the failures in a row start again from zero; the Checkout that saved a
 * card turns auto top-up on. With real Stripe the saved card is looked up again, since the person
 * may have paid with another one.
 */
async function afterCredited(client: PoolClient, facts: CheckoutFacts): Promise<void> {
  const sessionId = facts.checkoutSessionId;
  const relookUpCard = !sessionId.startsWith(simulatedSessionPrefix);
  const paid = await client.query<{ user_id: string; finished: boolean }>(
    `update credits.auto_topups set status = 'succeeded', resolved_at = coalesce(resolved_at, now()), updated_at = now()
      where (payment_intent_id = $1 or finish_checkout_session_id = $2) and status <> 'succeeded'
      returning user_id, finish_checkout_session_id = $2 as finished`,
    [facts.paymentIntentId, sessionId],
  );
  for (const row of paid.rows) {
    await client.query(
      `update credits.auto_topup_settings set consecutive_failures = 0, paused_until = null,
         payment_method_id = case when $2 then null else payment_method_id end, updated_at = now()
        where user_id = $1`,
      [row.user_id, row.finished && relookUpCard],
    );
  }
  await client.query(
    `update credits.auto_topup_settings
        set enabled = true, card_saved = true, setup_checkout_session_id = null, consecutive_failures = 0,
            paused_until = null, disabled_reason = null,
            payment_method_id = case when $2 then null else payment_method_id end, updated_at = now()
      where setup_checkout_session_id = $1`,
    [sessionId, relookUpCard],
  );
}

/**
 * The purchase path (fulfilCheckout: exactly once, only what Coinslot recorded), then what auto
 * top-up makes of the credit. The webhook, the success page and the worker all credit through here.
 */
export async function fulfilPayment(
  context: BillingContext,
  client: PoolClient,
  facts: CheckoutFacts,
): Promise<FulfilOutcome> {
  // Lock order: the person's auto top-up settings before their account (which the grant locks), as
  // a settings change has it (its trigger then mirrors the threshold onto the account); the other
  // order could deadlock a purchase's webhook with the person saving their settings.
  await client.query(
    `select 1 from credits.auto_topup_settings
      where user_id = $1 or setup_checkout_session_id = $2
      order by user_id
        for update`,
    [facts.userId, facts.checkoutSessionId],
  );
  const outcome = await fulfilCheckout(context, client, facts);
  if (outcome === "credited" || outcome === "already_credited") await afterCredited(client, facts);
  return outcome;
}

function intentFacts(intent: Stripe.PaymentIntent, topUp: TopUp): CheckoutFacts {
  return {
    checkoutSessionId: intent.id,
    paymentIntentId: intent.id,
    userId: intent.metadata?.user_id || topUp.userId,
    amountCents: intent.amount_received || intent.amount,
    currency: (intent.currency ?? "").toLowerCase(),
    paid: intent.status === "succeeded",
  };
}

type IntentEvent = { event: Stripe.Event; intent: Stripe.PaymentIntent };

async function lockTopUpOf(client: PoolClient, { event, intent }: IntentEvent): Promise<TopUp | null> {
  const topUp = await lockTopUpOfIntent(client, {
    paymentIntentId: intent.id,
    topUpId: intent.metadata?.auto_topup_id ?? null,
  });
  if (topUp) await setStripeEventUser(client, event.id, topUp.userId);
  return topUp;
}

/**
 * `payment_intent.succeeded`: credits an auto top-up's PaymentIntent through the purchase path,
 * whether it overtook the worker's own answer or not. Other PaymentIntents (Checkout's) are not
 * auto top-ups; their session's own event credits them.
 */
export async function topUpSucceeded(context: BillingContext, client: PoolClient, event: Stripe.Event) {
  const intent = event.data.object as Stripe.PaymentIntent;
  const topUp = await lockTopUpOf(client, { event, intent });
  if (!topUp) return "not_auto_topup";
  await recordTopUpIntent(client, topUp, intent.id);
  return fulfilPayment(context, client, intentFacts(intent, topUp));
}

/** `payment_intent.payment_failed` of an auto top-up: recorded once, with the person told. */
export async function topUpFailed(_context: BillingContext, client: PoolClient, event: Stripe.Event) {
  const intent = event.data.object as Stripe.PaymentIntent;
  const topUp = await lockTopUpOf(client, { event, intent });
  if (!topUp) return "not_auto_topup";
  const code = intent.last_payment_error?.code ?? "card_declined";
  return recordTopUpFailure(client, topUp, {
    paymentIntentId: intent.id,
    code,
    message: intent.last_payment_error?.message?.slice(0, 300) || "The payment did not go through.",
  });
}
