import type { PoolClient } from "../db/pool.js";
import { unwrap } from "../ledger/index.js";
import { formatCents } from "./amount.js";
import type { BillingContext } from "./context.js";
import { ensurePayerAccount } from "./payer.js";
import {
  disputesOf,
  lockPaymentIntent,
  lockRecordedPayment,
  markDispute,
  type Payment,
  type PaymentAttention,
  recordForeignPayment,
  reportedRefundCents,
  updatePayment,
} from "./payments.js";
import { type CheckoutFacts, disputeFavoursMerchant } from "./stripe-objects.js";

export type FulfilOutcome =
  | "credited"
  | "already_credited"
  | "awaiting_payment"
  | "unknown_user"
  | PaymentAttention;

type NamedFacts = CheckoutFacts & { userId: string };

/**
 * A paid session Coinslot never created, naming a user: a Payment Link or another product sold on
 * the same Stripe account. Crediting it would let anyone who knows a user id mint credits at any
 * price, so it is kept for a person and answered 200 (a retry would not change anything).
 */
async function keepForeignSession(
  context: BillingContext,
  client: PoolClient,
  facts: NamedFacts,
): Promise<FulfilOutcome> {
  // Unpaid, nothing was received yet; if it is paid later, that event comes back here.
  if (!facts.paid) return "not_created_here";
  await recordForeignPayment(client, facts);
  context.logger.error({ ...facts }, "paid checkout session was not created by Coinslot; not credited");
  return "not_created_here";
}

/** How a paid session differs from the one Coinslot recorded, or null when it is that session. */
function mismatchOf(payment: Payment, facts: NamedFacts, currency: string): PaymentAttention | null {
  // Coinslot started this session for someone else: crediting either person could be wrong, and
  // clawbacks follow the payment's user.
  if (payment.userId !== facts.userId) return "user_mismatch";
  // Crediting a foreign amount as if it were CURRENCY would invent or lose money.
  if (facts.currency !== payment.currency || facts.currency !== currency) return "currency_mismatch";
  // Stripe charged something else than Coinslot asked for (an edited session, a forged fixture):
  // crediting either amount could be wrong, so neither is.
  if (facts.amountCents !== payment.amountCents) return "amount_mismatch";
  return null;
}

/**
 * Credits a paid checkout session exactly once, inside the caller's transaction, and only when
 * Coinslot created it: the row recorded at creation must name the same user, amount and currency,
 * and the credit is the recorded amount. Anything else is kept for attention and credits nothing.
 * The webhook and the success page both come here; the payment row is locked first, so whichever
 * arrives second waits, then finds `credited_at` set and changes nothing. The ledger's idempotency
 * key `purchase:<session>` is a second, independent guard.
 */
export async function fulfilCheckout(
  context: BillingContext,
  client: PoolClient,
  checkout: CheckoutFacts,
): Promise<FulfilOutcome> {
  const { logger } = context;
  if (!checkout.userId) {
    // Nothing to credit and nobody to credit it to; a retry cannot change that, so answer 200 and
    // leave the evidence in the log for a person to resolve from Stripe's dashboard.
    logger.error({ checkoutSessionId: checkout.checkoutSessionId }, "paid checkout session names no user");
    return "unknown_user";
  }
  const facts: NamedFacts = { ...checkout, userId: checkout.userId };
  if (facts.paymentIntentId) await lockPaymentIntent(client, facts.paymentIntentId);
  const payment = await lockRecordedPayment(client, facts.checkoutSessionId);
  if (!payment) return keepForeignSession(context, client, facts);
  if (payment.creditedAt) return "already_credited";
  // Once kept for a person, a later delivery of the same session must not credit it behind them.
  if (payment.attention) return payment.attention;
  const paymentIntentId = facts.paymentIntentId ?? undefined;
  if (!facts.paid) {
    // An unpaid completed session (bank debit, voucher) waits for async_payment_succeeded.
    await updatePayment(client, payment.checkoutSessionId, { paymentIntentId });
    return "awaiting_payment";
  }
  const mismatch = mismatchOf(payment, facts, context.config.currency);
  if (mismatch) {
    // A person must decide (refund in Stripe, or an admin adjustment). Retrying would not help, so no 500.
    await updatePayment(client, payment.checkoutSessionId, {
      paymentIntentId,
      status: "paid",
      attention: mismatch,
    });
    logger.error({ ...facts, recorded: payment }, `checkout session not credited: ${mismatch}`);
    return mismatch;
  }
  if (!(await ensurePayerAccount(context, client, facts.userId))) {
    // Stripe would retry a 500 for three days and the user would still not exist; record the paid
    // session instead, so a person can credit it by an adjustment or refund it.
    await updatePayment(client, payment.checkoutSessionId, {
      paymentIntentId,
      status: "paid",
      attention: "unknown_user",
    });
    logger.error({ ...facts }, "checkout paid for a user that does not exist");
    return "unknown_user";
  }
  const { amountCents, currency } = payment;
  unwrap(
    await context.ledger.grant({
      userId: payment.userId,
      amountCents,
      kind: "purchase",
      idempotencyKey: `purchase:${facts.checkoutSessionId}`,
      reference: facts.checkoutSessionId,
      description: `Bought ${formatCents(amountCents, currency)} of credits`,
      client,
    }),
  );
  await updatePayment(client, payment.checkoutSessionId, {
    paymentIntentId,
    status: "paid",
    attention: null,
    credited: true,
  });
  await reconcileClawbacks(context, client, { ...payment, paymentIntentId: facts.paymentIntentId });
  return "credited";
}

/**
 * What a clawback of this payment may leave out: the purchase's credit that already expired (only
 * paid lots with PAID_CREDIT_DAYS expire), which the expiry took back once already. Counted per
 * payment across refunds and disputes (`expired_forgiven_cents`), with the account locked so no
 * expiry slips between the count and the clawback.
 */
async function expiredForgiveness(
  context: BillingContext,
  client: PoolClient,
  payment: Pick<Payment, "checkoutSessionId" | "userId">,
) {
  const { rows } = await client.query<{ expired_forgiven_cents: number }>(
    "select expired_forgiven_cents from credits.payments where checkout_session_id = $1",
    [payment.checkoutSessionId],
  );
  const savedCents = Number(rows[0]?.expired_forgiven_cents ?? 0);
  let forgivenCents = savedCents;
  let expiredCents: number | undefined;
  let forgaveNow = false;
  return {
    /** How much of `wantedCents` to claw back once expired credit not yet let go is left out. */
    clawBackOf: async (wantedCents: number): Promise<number> => {
      expiredCents ??= unwrap(
        await context.ledger.expiredOfPurchase({
          userId: payment.userId,
          reference: payment.checkoutSessionId,
          client,
        }),
      ).expiredCents;
      const forgiven = Math.min(wantedCents, Math.max(expiredCents - forgivenCents, 0));
      forgivenCents += forgiven;
      forgaveNow = forgiven > 0;
      return wantedCents - forgiven;
    },
    described: (words: string) => (forgaveNow ? `${words} (less credit that had already expired)` : words),
    save: async () => {
      if (forgivenCents === savedCents) return;
      await client.query(
        "update credits.payments set expired_forgiven_cents = $2 where checkout_session_id = $1",
        [payment.checkoutSessionId, forgivenCents],
      );
    },
  };
}

/**
 * Brings a credited payment in line with every refund and dispute Stripe reported for it, whether
 * the report came before or after the purchase. Each step has its own ledger key, so it applies once.
 * The caller holds the payment intent's lock and the payment row's lock.
 */
export async function reconcileClawbacks(
  context: BillingContext,
  client: PoolClient,
  payment: Pick<
    Payment,
    "checkoutSessionId" | "paymentIntentId" | "userId" | "amountCents" | "refundedCents"
  >,
): Promise<void> {
  const paymentIntentId = payment.paymentIntentId;
  if (!paymentIntentId) return;
  const { ledger } = context;
  const reference = payment.checkoutSessionId;
  const forgiveness = await expiredForgiveness(context, client, payment);
  const refundedCents = Math.min(await reportedRefundCents(client, paymentIntentId), payment.amountCents);
  if (refundedCents > payment.refundedCents) {
    const clawCents = await forgiveness.clawBackOf(refundedCents - payment.refundedCents);
    if (clawCents > 0) {
      unwrap(
        await ledger.clawBack({
          userId: payment.userId,
          amountCents: clawCents,
          kind: "refund",
          // The cumulative total names the refund: two partial refunds have two totals, a replay the same.
          idempotencyKey: `refund:${paymentIntentId}:${refundedCents}`,
          reference,
          description: forgiveness.described("Payment refunded"),
          client,
        }),
      );
    }
    await updatePayment(client, payment.checkoutSessionId, { refundedCents });
  }
  for (const dispute of await disputesOf(client, paymentIntentId)) {
    const favoursMerchant = disputeFavoursMerchant(dispute.status);
    if (!dispute.clawedBack && !favoursMerchant) {
      const clawCents = await forgiveness.clawBackOf(dispute.amountCents);
      if (clawCents > 0) {
        unwrap(
          await ledger.clawBack({
            userId: payment.userId,
            amountCents: clawCents,
            kind: "dispute",
            idempotencyKey: `dispute:${dispute.disputeId}`,
            reference,
            description: forgiveness.described("Payment disputed"),
            client,
          }),
        );
      }
      await markDispute(client, dispute.disputeId, {
        clawedBack: true,
        clawedBackCents: clawCents,
        userId: payment.userId,
      });
    } else if (dispute.clawedBack && !dispute.returned && favoursMerchant) {
      // What the lost dispute took back, not more: credit that had expired stays expired.
      const returnCents = dispute.clawedBackCents ?? dispute.amountCents;
      if (returnCents > 0) {
        unwrap(
          await ledger.grant({
            userId: payment.userId,
            amountCents: returnCents,
            kind: "dispute_reversal",
            idempotencyKey: `dispute-won:${dispute.disputeId}`,
            reference,
            description: "Dispute closed in our favour",
            client,
          }),
        );
      }
      await markDispute(client, dispute.disputeId, { returned: true });
    }
  }
  await forgiveness.save();
}
