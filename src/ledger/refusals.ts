import { read, type Target } from "./execute.js";
import { accountNotFound, fail } from "./results.js";
import type { Result } from "./types.js";

type ShortfallRow = {
  balance_cents: number;
  held_cents: number;
  expired_cents: number;
  spend_limit_cents: number | null;
  limit_room_cents: number | null;
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
            credits.spend_limit_room(spend_limit_cents, held_cents, usage_month, month_usage_cents)
              as limit_room_cents
       from credits.accounts where user_id = $1`,
    [input.userId],
  );
  if (!row) return accountNotFound(input.userId);
  const neededCents = input.amountCents;
  const heldCents = Number(row.held_cents);
  if (input.usage && row.limit_room_cents !== null && neededCents > Number(row.limit_room_cents)) {
    const leftCents = Math.max(Number(row.limit_room_cents), 0);
    return fail(
      "SPEND_LIMIT_REACHED",
      `This needs ${neededCents} cents but your monthly spend limit of ${row.spend_limit_cents} cents has ${leftCents} left; raise the limit in settings or wait for next month.`,
      { neededCents, availableCents: leftCents },
    );
  }
  const availableCents = Number(row.balance_cents) - heldCents - Number(row.expired_cents);
  return fail(
    "INSUFFICIENT_CREDITS",
    `This needs ${neededCents} cents but ${Math.max(availableCents, 0)} are available; buy credits to continue.`,
    { neededCents, availableCents },
  );
}
