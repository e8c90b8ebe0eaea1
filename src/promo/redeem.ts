import type { Config } from "../config.js";
import { type Pool, transaction } from "../db/pool.js";
import { AppError } from "../kit/errors.js";
import { unwrap } from "../ledger/index.js";
import type { Ledger } from "../ledger/types.js";
import {
  countRedemption,
  findCode,
  insertRedemption,
  type PromoCode,
  recordRedemptionEntry,
} from "./codes.js";

const dayMs = 24 * 60 * 60 * 1000;

export type Redemption = {
  code: string;
  amountCents: number;
  /** When the credit granted expires. */
  creditExpiresAt: Date;
  balanceCents: number;
  availableCents: number;
};

type RedeemDependencies = { pool: Pool; ledger: Ledger; config: Pick<Config, "promoCreditDays"> };

/** Why a code that exists cannot be redeemed now, or null when it can (as far as one read can tell). */
function refusal(code: PromoCode, now: Date): AppError | null {
  if (code.disabledAt) {
    return new AppError(
      "PROMO_CODE_DISABLED",
      `The code ${code.code} has been withdrawn and gives no credit.`,
    );
  }
  if (code.expiresAt && code.expiresAt <= now) {
    return new AppError(
      "PROMO_CODE_EXPIRED",
      `The code ${code.code} expired on ${code.expiresAt.toISOString().slice(0, 10)}.`,
    );
  }
  if (code.maxRedemptions !== null && code.redemptions >= code.maxRedemptions) {
    return new AppError("PROMO_CODE_USED_UP", `The code ${code.code} has been used as often as it may be.`);
  }
  return null;
}

const notFound = () =>
  new AppError("PROMO_CODE_NOT_FOUND", "There is no such code. Check its spelling (letters and digits).");

/**
 * Redeems the code `typed` (any case) for `userId`: once per account (and per email address, so
 * deleting the account and signing up again does not redeem it twice), never past the code's maximum
 * however many redeem at once, in one transaction that writes the redemption, counts it on the code
 * and grants the credit as a promotional lot (key `promo:<codeId>:<userId>`), or does none of these.
 * Throws AppError with a PROMO_CODE_* code when the code cannot be redeemed.
 *
 * @example
 * const redeemed = await redeemCode({ pool, ledger, config }, { userId, email, typed: "welcome-10" });
 */
export async function redeemCode(
  dependencies: RedeemDependencies,
  input: { userId: string; email: string; typed: string },
): Promise<Redemption> {
  const { pool, ledger, config } = dependencies;
  return transaction(pool, async (client) => {
    const code = await findCode(client, input.typed);
    if (!code) throw notFound();
    const early = refusal(code, new Date());
    if (early) throw early;
    const first = await insertRedemption(client, {
      codeId: code.id,
      userId: input.userId,
      email: input.email,
      amountCents: code.amountCents,
    });
    if (!first) {
      throw new AppError("PROMO_CODE_ALREADY_REDEEMED", `You have already redeemed the code ${code.code}.`);
    }
    if (!(await countRedemption(client, code.id))) {
      // Another redemption (or an admin) got there while this one waited: say what the code is now.
      const now = await findCode(client, input.typed);
      throw (now && refusal(now, new Date())) ?? notFound();
    }
    const creditExpiresAt = new Date(Date.now() + (code.creditDays ?? config.promoCreditDays) * dayMs);
    const change = unwrap(
      await ledger.grant({
        userId: input.userId,
        amountCents: code.amountCents,
        kind: "promo_code",
        category: "promo",
        expiresAt: creditExpiresAt,
        idempotencyKey: `promo:${code.id}:${input.userId}`,
        reference: `promo:${code.id}`,
        description: `Promo code ${code.code}`,
        client,
      }),
    );
    await recordRedemptionEntry(client, { codeId: code.id, userId: input.userId, entryId: change.entry.id });
    return {
      code: code.code,
      amountCents: code.amountCents,
      creditExpiresAt,
      balanceCents: change.balance.balanceCents,
      availableCents: change.balance.availableCents,
    };
  });
}
