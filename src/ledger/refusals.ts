import { read, type Target } from "./execute.js";
import { accountNotFound, fail } from "./results.js";
import type { Result } from "./types.js";

type ShortfallRow = {
  balance_cents: number;
  held_cents: number;
  expired_cents: number;
  spend_limit_cents: number | null;
  month_usage_cents: number;
};

/**
 * Why a debit or hold of `amountCents` matched no account row: no account, this month's spend limit
 * (usage only), or not enough spendable credit (available credit less what expired lots still hold
 * until their sweep). Read after the refusal, so it explains the refusal, it does not decide it.
 */
export async function explainShortfall<T>(
  target: Target,
  input: { userId: string; amountCents: number; usage: boolean },
): Promise<Result<T>> {
  const [row] = await read<ShortfallRow>(
    target,
    `select balance_cents, held_cents, credits.expired_unswept_cents(user_id) as expired_cents,
            spend_limit_cents,
            case when usage_month = credits.this_month() then month_usage_cents else 0 end as month_usage_cents
       from credits.accounts where user_id = $1`,
    [input.userId],
  );
  if (!row) return accountNotFound(input.userId);
  const neededCents = input.amountCents;
  const heldCents = Number(row.held_cents);
  const limitCents = row.spend_limit_cents === null ? null : Number(row.spend_limit_cents);
  const usedCents = Number(row.month_usage_cents) + heldCents;
  if (input.usage && limitCents !== null && usedCents + neededCents > limitCents) {
    return fail(
      "SPEND_LIMIT_REACHED",
      `This needs ${neededCents} cents but your monthly spend limit of ${limitCents} cents has ${Math.max(limitCents - usedCents, 0)} left; raise the limit in settings or wait for next month.`,
      { neededCents, availableCents: Math.max(limitCents - usedCents, 0) },
    );
  }
  const availableCents = Number(row.balance_cents) - heldCents - Number(row.expired_cents);
  return fail(
    "INSUFFICIENT_CREDITS",
    `This needs ${neededCents} cents but ${Math.max(availableCents, 0)} are available; buy credits to continue.`,
    { neededCents, availableCents },
  );
}
