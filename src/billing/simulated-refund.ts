import { transaction } from "../db/pool.js";
import { AppError } from "../kit/errors.js";
import { formatCents } from "./amount.js";
import type { BillingContext } from "./context.js";
import { findPayment, reportedRefundCents } from "./payments.js";
import { simulatedSessionPrefix } from "./simulated-checkout.js";
import { deliverEvent, refundedChargeEvent } from "./simulated-events.js";

/**
 * Refunds part or all of a simulated payment the way Stripe would: by sending a signed
 * `charge.refunded` with the new cumulative total to the real webhook route, which claws it back.
 * Real payments are refunded in Stripe's dashboard; their webhook does the same.
 */
export async function refundSimulatedPayment(
  context: BillingContext,
  input: { checkoutSessionId: string; amountCents: number | undefined },
): Promise<{ refundedCents: number; amountCents: number }> {
  if (context.stripe || !input.checkoutSessionId.startsWith(simulatedSessionPrefix)) {
    throw new AppError(
      "NOT_SIMULATED",
      "Only simulated payments are refunded here; refund real payments in Stripe's dashboard and the webhook claws the credit back.",
    );
  }
  const payment = await findPayment(context.pool, input.checkoutSessionId);
  if (!payment) throw new AppError("PAYMENT_NOT_FOUND", "No payment has this checkout session id.");
  if (payment.status !== "paid" || !payment.paymentIntentId) {
    throw new AppError(
      "PAYMENT_NOT_PAID",
      `This payment is ${payment.status}; only a paid one can be refunded.`,
    );
  }
  // charge.refunded carries the cumulative total, so two refunds of one payment at once would read
  // the same total and report the same new one: one of them lost. The first holds a per-payment lock
  // until the webhook has applied it (a transaction lock: a dropped connection frees it); another
  // arriving meanwhile is refused rather than queued, so no one waits holding a pooled connection
  // that the webhook itself needs.
  const paymentIntentId = payment.paymentIntentId;
  return transaction(context.pool, async (client) => {
    const locked = await client.query<{ locked: boolean }>(
      "select pg_try_advisory_xact_lock(hashtextextended($1, 0)) as locked",
      [`simulated-refund:${paymentIntentId}`],
    );
    if (!locked.rows[0]?.locked) {
      throw new AppError(
        "REFUND_IN_PROGRESS",
        "Another refund of this payment is being applied; look at its history, then try again.",
      );
    }
    const alreadyCents = await reportedRefundCents(context.pool, paymentIntentId);
    const remainingCents = payment.amountCents - alreadyCents;
    const amountCents = input.amountCents ?? remainingCents;
    if (remainingCents <= 0)
      throw new AppError("ALREADY_REFUNDED", "This payment is already fully refunded.");
    if (amountCents < 1 || amountCents > remainingCents) {
      throw new AppError(
        "INVALID_AMOUNT",
        `Refund from 1 to ${remainingCents} cents (${formatCents(remainingCents, payment.currency)} is left to refund).`,
      );
    }
    const refundedCents = alreadyCents + amountCents;
    const delivery = await deliverEvent(context.config, refundedChargeEvent(payment, refundedCents));
    if (!delivery.ok) {
      context.logger.error(
        { delivery, checkoutSessionId: payment.checkoutSessionId },
        "simulated refund failed",
      );
      throw new AppError("REFUND_NOT_APPLIED", "The webhook did not apply the refund; try again.");
    }
    return { refundedCents, amountCents: payment.amountCents };
  });
}
