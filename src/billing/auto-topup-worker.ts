import { transaction } from "../db/pool.js";
import { type RetryPolicy, retryAtMs } from "../kit/backoff.js";
import { runPeriodically } from "../kit/periodic.js";
import { fulfilPayment, recordTopUpFailure, recordTopUpIntent } from "./auto-topup-outcomes.js";
import { autoTopUpProvider, type ChargeOutcome } from "./auto-topup-provider.js";
import {
  claimDueTopUps,
  findSettings,
  findTopUp,
  saveSettings,
  type TopUp,
  updateTopUp,
} from "./auto-topup-repo.js";
import type { BillingContext } from "./context.js";

/** Stripe down or unreachable: ask again after 10 s, doubling to 10 min, for an hour; then give up. */
export const unavailableRetryPolicy: RetryPolicy = {
  baseDelayMs: 10_000,
  maxDelayMs: 600_000,
  giveUpAfterMs: 3_600_000,
};

// Longer than a Stripe call can take with its retries (3 × 20 s), so a charge ends inside its lease.
const leaseSeconds = 120;

type Worker = { context: BillingContext; retry: RetryPolicy; random: () => number };

async function cancel(worker: Worker, topUp: TopUp, reason: string): Promise<void> {
  await transaction(worker.context.pool, async (client) => {
    const current = await findTopUp(client, topUp.id, { lock: true });
    if (current?.status !== "pending") return;
    await updateTopUp(client, topUp.id, { status: "canceled", failureCode: reason });
  });
}

/** Applies what Stripe (or the simulator) answered, under the top-up's row lock. */
async function record(worker: Worker, topUp: TopUp, outcome: ChargeOutcome): Promise<void> {
  const { context } = worker;
  await transaction(context.pool, async (client) => {
    const current = await findTopUp(client, topUp.id, { lock: true });
    if (!current) return;
    if (outcome.kind === "failed") {
      await recordTopUpFailure(client, current, outcome);
      return;
    }
    if (outcome.kind === "unavailable") {
      // Our lease ran out and another worker took the top-up over: its record wins.
      if (current.status !== "pending" || current.attempts !== topUp.attempts) return;
      const retryAt = retryAtMs(
        worker.retry,
        { attempts: current.attempts, queuedAtMs: current.createdAt.getTime() },
        worker.random,
      );
      // Not the card's fault: it does not count as a failure in a row, and the next spend starts anew.
      await updateTopUp(client, current.id, {
        lastError: outcome.error,
        ...(retryAt === null
          ? {
              status: "failed" as const,
              failureCode: "stripe_unavailable",
              failureMessage: "The payment provider did not answer.",
            }
          : { nextAttemptAt: new Date(retryAt) }),
      });
      return;
    }
    await recordTopUpIntent(client, current, outcome.paymentIntentId);
    if (outcome.kind !== "succeeded") return;
    // Stripe's own answer, over our authenticated call, is as good as its webhook (as for the success
    // page): credit now through the purchase path; the webhook, whenever it comes, finds it done.
    await fulfilPayment(context, client, {
      checkoutSessionId: outcome.paymentIntentId,
      paymentIntentId: outcome.paymentIntentId,
      userId: topUp.userId,
      amountCents: outcome.amountCents,
      currency: outcome.currency,
      paid: true,
    });
  });
}

/** The card to charge: the one on record, else the newest saved to the customer (then recorded). */
async function cardOf(worker: Worker, input: { userId: string; customerId: string; known: string | null }) {
  if (input.known) return input.known;
  const { context } = worker;
  const found = await autoTopUpProvider(context).savedCard(input.customerId);
  if (found) {
    const settings = await findSettings(context.pool, input.userId);
    if (settings) {
      await saveSettings(context.pool, {
        userId: input.userId,
        currency: settings.currency,
        change: { paymentMethodId: found },
      });
    }
  }
  return found;
}

async function chargeTopUp(worker: Worker, topUp: TopUp): Promise<void> {
  const { context } = worker;
  const settings = await findSettings(context.pool, topUp.userId);
  // Turned off (or never finished setting up) since the spend that started it: nothing to charge.
  if (!settings?.enabled || !settings.stripeCustomerId) return cancel(worker, topUp, "auto_topup_off");
  // Credit may have come back since (a purchase, a released hold): charge only while it is still low.
  const balance = await context.ledger.getBalance(topUp.userId);
  if (balance.data && balance.data.availableCents >= settings.thresholdCents) {
    return cancel(worker, topUp, "not_needed");
  }
  let paymentMethodId: string | null;
  try {
    paymentMethodId = await cardOf(worker, {
      userId: topUp.userId,
      customerId: settings.stripeCustomerId,
      known: settings.paymentMethodId,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return record(worker, topUp, { kind: "unavailable", error: message.slice(0, 500) });
  }
  const outcome: ChargeOutcome = paymentMethodId
    ? await autoTopUpProvider(context).charge({
        topUp,
        customerId: settings.stripeCustomerId,
        paymentMethodId,
      })
    : {
        kind: "failed",
        paymentIntentId: null,
        code: "no_saved_card",
        message: "No saved card was found; save one by paying through the link.",
      };
  await record(worker, topUp, outcome);
}

/**
 * One pass: claims due top-ups (FOR UPDATE SKIP LOCKED, under a lease, so several workers on one
 * server or many never charge one twice at once; Stripe's idempotency key covers a worker that died
 * mid-call) and charges each off-session. Returns how many it handled.
 *
 * @example
 * await chargeDueTopUps(context); // in a test, instead of waiting for the worker's tick
 */
export async function chargeDueTopUps(
  context: BillingContext,
  options: { retry?: RetryPolicy; random?: () => number; limit?: number } = {},
): Promise<number> {
  const worker: Worker = {
    context,
    retry: options.retry ?? unavailableRetryPolicy,
    random: options.random ?? Math.random,
  };
  const due = await claimDueTopUps(context.pool, { limit: options.limit ?? 10, leaseSeconds });
  for (const topUp of due) {
    try {
      await chargeTopUp(worker, topUp);
    } catch (error) {
      // The lease keeps the top-up from everyone until it runs out; then it is tried again.
      context.logger.error(
        { err: error, topUpId: topUp.id },
        "auto top-up not charged; retrying after its lease",
      );
    }
  }
  return due.length;
}

/**
 * Charges pending auto top-ups every `intervalMs` until stopped. Without Stripe and without the
 * simulator nothing can be charged, so nothing runs (pending top-ups wait).
 *
 * @example
 * const worker = startAutoTopUpWorker(createBillingContext(dependencies));
 * await worker.stop();
 */
export function startAutoTopUpWorker(
  context: BillingContext,
  options: { intervalMs?: number } = {},
): { stop: () => Promise<void> } {
  if (!context.stripe && !context.config.stripeSimulator) return { stop: async () => {} };
  const loop = runPeriodically({
    intervalMs: options.intervalMs ?? 1_000,
    pass: () => chargeDueTopUps(context),
    onError: (error) =>
      context.logger.warn({ err: error }, "auto top-up pass failed; retrying on the next tick"),
  });
  return loop;
}
