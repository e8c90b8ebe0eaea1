import type { SessionUser } from "../auth/types.js";
import { type RequestUser, withUser } from "../db/with-user.js";
import { AppError } from "../kit/errors.js";
import type { Logger } from "../logger.js";
import { topupProblem } from "./amount.js";
import { autoTopUpProvider } from "./auto-topup-provider.js";
import {
  type AutoTopUpSettings,
  findSettings,
  findTopUp,
  monthTotalCents,
  recentTopUps,
  saveSettings,
  setFinishSession,
  type TopUp,
  updateTopUp,
} from "./auto-topup-repo.js";
import { startCheckout } from "./checkout.js";
import { checkoutNotConfigured, checkoutProvider } from "./checkout-provider.js";
import type { BillingContext } from "./context.js";

/** The most a month's cap may be, in top-up amounts at their largest (a bound on a runaway loop). */
export const maxMonthlyLimitInTopUps = 50;
const shownTopUps = 10;

export type AutoTopUpState = "off" | "awaiting_card" | "on" | "turned_off_after_failures";

export type TopUpView = {
  id: string;
  amountCents: number;
  currency: string;
  status: TopUp["status"];
  failureCode: string | null;
  failureMessage: string | null;
  createdAt: string;
};

export type AutoTopUpView = {
  state: AutoTopUpState;
  thresholdCents: number;
  amountCents: number;
  monthlyLimitCents: number;
  currency: string;
  cardSaved: boolean;
  consecutiveFailures: number;
  pausedUntil: string | null;
  monthTotalCents: number;
  limits: { minCents: number; maxCents: number; stepCents: number; maxMonthlyLimitCents: number };
  topUps: TopUpView[];
  /** The newest top-up failed: the person can finish it themselves (or dismiss the notice). */
  notice: {
    topUpId: string;
    amountCents: number;
    currency: string;
    message: string;
    turnedOff: boolean;
  } | null;
};

export type AutoTopUpInput = {
  enabled: boolean;
  thresholdCents: number;
  amountCents: number;
  monthlyLimitCents: number;
};

function limitsOf(context: BillingContext): AutoTopUpView["limits"] {
  const { minCents, maxCents, stepCents } = context.config.topup;
  return { minCents, maxCents, stepCents, maxMonthlyLimitCents: maxCents * maxMonthlyLimitInTopUps };
}

function stateOf(settings: AutoTopUpSettings | null): AutoTopUpState {
  if (settings?.enabled) return "on";
  if (settings?.disabledReason === "failures") return "turned_off_after_failures";
  if (settings?.setupCheckoutSessionId) return "awaiting_card";
  return "off";
}

function topUpView(topUp: TopUp): TopUpView {
  return {
    id: topUp.id,
    amountCents: topUp.amountCents,
    currency: topUp.currency,
    status: topUp.status,
    failureCode: topUp.failureCode,
    failureMessage: topUp.failureMessage,
    createdAt: topUp.createdAt.toISOString(),
  };
}

/**
 * The settings section's whole state for one person, read as that person (row-level security
 * decides what is seen, as for every user-facing read).
 */
export async function autoTopUpView(context: BillingContext, user: RequestUser): Promise<AutoTopUpView> {
  const { config, pool } = context;
  const [settings, topUps, monthCents] = await withUser(
    pool,
    user,
    async (client) =>
      [
        await findSettings(client, user.id),
        await recentTopUps(client, user.id, shownTopUps),
        await monthTotalCents(client, user.id),
      ] as const,
  );
  const newest = topUps[0];
  const needsPerson =
    newest?.status === "failed" && !newest.dismissed && newest.failureCode !== "stripe_unavailable";
  return {
    state: stateOf(settings),
    thresholdCents: settings?.thresholdCents ?? config.topup.minCents,
    amountCents: settings?.amountCents ?? config.topup.defaultCents,
    monthlyLimitCents: settings?.monthlyLimitCents ?? config.topup.defaultCents * 5,
    currency: settings?.currency ?? config.currency,
    cardSaved: settings?.cardSaved ?? false,
    consecutiveFailures: settings?.consecutiveFailures ?? 0,
    pausedUntil:
      settings?.pausedUntil && settings.pausedUntil > new Date() ? settings.pausedUntil.toISOString() : null,
    monthTotalCents: monthCents,
    limits: limitsOf(context),
    topUps: topUps.map(topUpView),
    notice:
      newest && needsPerson
        ? {
            topUpId: newest.id,
            amountCents: newest.amountCents,
            currency: newest.currency,
            message: newest.failureMessage ?? "The payment did not go through.",
            turnedOff: settings?.disabledReason === "failures" && !settings.enabled,
          }
        : null,
  };
}

/** Why these amounts are not allowed, or null: each within TOPUP_*, the cap at least one top-up. */
export function autoTopUpProblem(context: BillingContext, input: AutoTopUpInput): string | null {
  const limits = limitsOf(context);
  const amount = topupProblem(input.amountCents, context.config);
  if (amount) return `amountCents: ${amount}`;
  if (input.thresholdCents < limits.minCents || input.thresholdCents > limits.maxCents) {
    return `thresholdCents must be from ${limits.minCents} to ${limits.maxCents}.`;
  }
  if (input.monthlyLimitCents < input.amountCents || input.monthlyLimitCents > limits.maxMonthlyLimitCents) {
    return `monthlyLimitCents must be from amountCents (${input.amountCents}) to ${limits.maxMonthlyLimitCents}.`;
  }
  return null;
}

function stripeUnavailable(logger: Logger, error: unknown): AppError {
  logger.error({ err: error }, "stripe: creating a customer failed");
  return new AppError("STRIPE_UNAVAILABLE", "The payment provider did not answer. Try again in a minute.");
}

/**
 * Saves the person's choice. Turning it on with a card already saved takes effect at once; without
 * one, it answers the Checkout that buys the first `amountCents` and saves the card (auto top-up is
 * on once that is paid). `beforeStripe` (the rate limit) runs only when Stripe is about to be asked.
 */
export async function updateAutoTopUp(
  context: BillingContext,
  input: AutoTopUpInput & { user: SessionUser; requestKey: string; beforeStripe: () => Promise<void> },
): Promise<{ checkoutUrl: string | null }> {
  const { pool, config, logger } = context;
  const { user } = input;
  const amounts = {
    thresholdCents: input.thresholdCents,
    amountCents: input.amountCents,
    monthlyLimitCents: input.monthlyLimitCents,
  };
  const settings = await findSettings(pool, user.id);
  const save = (change: Parameters<typeof saveSettings>[1]["change"]) =>
    saveSettings(pool, { userId: user.id, currency: config.currency, change: { ...amounts, ...change } });
  if (!input.enabled) {
    await save({ enabled: false, setupCheckoutSessionId: null, disabledReason: null });
    return { checkoutUrl: null };
  }
  if (settings?.cardSaved) {
    // Turning it on again is a fresh start: the failures that turned it off are behind the person.
    await save({ enabled: true, disabledReason: null, consecutiveFailures: 0, pausedUntil: null });
    return { checkoutUrl: null };
  }
  if (!checkoutProvider(context).available) throw checkoutNotConfigured();
  await input.beforeStripe();
  let customerId = settings?.stripeCustomerId ?? null;
  if (!customerId) {
    customerId = await autoTopUpProvider(context)
      .createCustomer({ userId: user.id, email: user.email })
      .catch((error: unknown) => {
        throw stripeUnavailable(logger, error);
      });
    await save({ stripeCustomerId: customerId });
  }
  const { checkoutSessionId, url } = await startCheckout(context, {
    user,
    amountCents: input.amountCents,
    requestKey: `auto-topup-${input.requestKey}`,
    saveCardFor: customerId,
  });
  await save({ enabled: false, setupCheckoutSessionId: checkoutSessionId });
  return { checkoutUrl: url };
}

function notWaiting(): AppError {
  return new AppError(
    "PAYMENT_NOT_FOUND",
    "No failed auto top-up with this id is waiting for you. Reload the page to see the current state.",
  );
}

/** A failed top-up of this person that may still be finished or dismissed (read as the person). */
async function waitingTopUp(context: BillingContext, user: RequestUser, topUpId: string): Promise<TopUp> {
  const topUp = await withUser(context.pool, user, (client) => findTopUp(client, topUpId));
  if (!topUp || topUp.userId !== user.id || topUp.status !== "failed") throw notWaiting();
  return topUp;
}

/**
 * The Checkout in which the person pays a failed top-up themselves (their bank can ask them to
 * confirm it there), saving the card again for the next ones. The same top-up gives the same Checkout.
 */
export async function finishTopUp(
  context: BillingContext,
  input: { user: SessionUser; topUpId: string; beforeStripe: () => Promise<void> },
): Promise<{ url: string }> {
  const topUp = await waitingTopUp(context, input.user, input.topUpId);
  const settings = await findSettings(context.pool, input.user.id);
  if (!settings?.stripeCustomerId) throw notWaiting();
  if (!checkoutProvider(context).available) throw checkoutNotConfigured();
  await input.beforeStripe();
  const { checkoutSessionId, url } = await startCheckout(context, {
    user: input.user,
    amountCents: topUp.amountCents,
    requestKey: `auto-topup-finish-${topUp.requestKey}`,
    saveCardFor: settings.stripeCustomerId,
  });
  await setFinishSession(context.pool, topUp.id, checkoutSessionId);
  return { url };
}

/** Hides the notice of a failed top-up the person does not want to finish. */
export async function dismissTopUp(context: BillingContext, input: { user: RequestUser; topUpId: string }) {
  const topUp = await waitingTopUp(context, input.user, input.topUpId);
  await updateTopUp(context.pool, topUp.id, { dismissed: true });
}
