import { createHash } from "node:crypto";
import type { Pool } from "../db/pool.js";
import { AppError } from "../kit/errors.js";
import { findBalance, type SpendBatcher, unwrap } from "../ledger/index.js";
import type { Hold, Ledger, LedgerError } from "../ledger/types.js";
import { isCustomerUser } from "./customers.js";

const maxLedgerKeyLength = 255;

/**
 * The ledger key of an app's Idempotency-Key: namespaced by operation and Coinslot user, so two
 * apps' (or two customers') keys never meet, and hashed when the app's key would not fit.
 *
 * @example
 * ledgerKey("hold", "user_1", "req-42"); // "v1:hold:user_1:req-42"
 */
export function ledgerKey(operation: "hold" | "usage", userId: string, idempotencyKey: string): string {
  const namespace = `v1:${operation}:${userId}:`;
  const key = `${namespace}${idempotencyKey}`;
  if (key.length <= maxLedgerKeyLength) return key;
  return `${namespace}sha256:${createHash("sha256").update(idempotencyKey).digest("base64url")}`;
}

const holdKeyPrefix = "v1:hold:";

/** The ledger's refusal as the AppError `unwrap` would throw (its code, message and details). */
function ledgerError({ code, message, ...details }: LedgerError): AppError {
  return new AppError(code, message, details);
}

export type Settlement = { chargedCents: number; releasedCents: number; balanceCents: number };

const holdNotFound = (holdId: string) =>
  new AppError(
    "HOLD_NOT_FOUND",
    `No hold ${holdId} was placed through this API; use the id POST /v1/holds answered.`,
  );

/**
 * The hold, if the metering API placed it for a customer; a hold of Coinslot's own chat (or any
 * other) is HOLD_NOT_FOUND here, so an app can never settle someone else's reservation.
 */
export async function requireMeteringHold(
  context: { pool: Pool; ledger: Ledger },
  holdId: string,
): Promise<Hold> {
  if (!/^\d{1,18}$/.test(holdId)) throw holdNotFound(holdId);
  const found = await context.ledger.getHold(holdId);
  const hold = found.data;
  if (!hold) throw holdNotFound(holdId);
  if (!hold.idempotencyKey.startsWith(`${holdKeyPrefix}${hold.userId}:`)) throw holdNotFound(holdId);
  if (!(await isCustomerUser(context.pool, hold.userId))) throw holdNotFound(holdId);
  return hold;
}

async function currentBalanceCents(pool: Pool, userId: string): Promise<number> {
  return (await findBalance({ pool }, userId))?.balanceCents ?? 0;
}

/**
 * Settles once. A repeated settle of the same amount answers the first settlement (the balance as
 * it is now); any other call on a resolved hold is the ledger's HOLD_NOT_OPEN.
 */
export async function settle(
  context: { pool: Pool; ledger: Ledger },
  input: { hold: Hold; amountCents: number; description?: string },
): Promise<{ settlement: Settlement; replayed: boolean }> {
  const { hold } = input;
  const result = await context.ledger.settleHold({
    holdId: hold.id,
    amountCents: input.amountCents,
    description: input.description,
  });
  if (result.data) {
    const settledCents = result.data.hold.settledCents ?? 0;
    const settlement = {
      chargedCents: settledCents,
      releasedCents: result.data.hold.amountCents - settledCents,
      balanceCents: result.data.balance.balanceCents,
    };
    return { settlement, replayed: false };
  }
  if (result.error.code === "HOLD_NOT_OPEN") {
    const now = unwrap(await context.ledger.getHold(hold.id));
    if (now.status === "settled" && now.settledCents === input.amountCents) {
      const settlement = {
        chargedCents: now.settledCents,
        releasedCents: now.amountCents - now.settledCents,
        balanceCents: await currentBalanceCents(context.pool, now.userId),
      };
      return { settlement, replayed: true };
    }
  }
  throw ledgerError(result.error);
}

/** Releases once; a repeated release answers the first, anything else is HOLD_NOT_OPEN. */
export async function release(
  context: { pool: Pool; ledger: Ledger },
  hold: Hold,
): Promise<{ settlement: Settlement; replayed: boolean }> {
  const result = await context.ledger.releaseHold({ holdId: hold.id });
  if (result.data) {
    const settlement = {
      chargedCents: 0,
      releasedCents: result.data.hold.amountCents,
      balanceCents: result.data.balance.balanceCents,
    };
    return { settlement, replayed: false };
  }
  if (result.error.code === "HOLD_NOT_OPEN") {
    const now = unwrap(await context.ledger.getHold(hold.id));
    if (now.status === "released") {
      const settlement = {
        chargedCents: 0,
        releasedCents: now.amountCents,
        balanceCents: await currentBalanceCents(context.pool, now.userId),
      };
      return { settlement, replayed: true };
    }
  }
  throw ledgerError(result.error);
}

/** A direct charge through the spend batcher: concurrent calls share statements, each gets its answer. */
export async function chargeUsage(
  batcher: SpendBatcher,
  input: { userId: string; amountCents: number; description: string; idempotencyKey: string },
) {
  const change = unwrap(
    await batcher.spend({
      userId: input.userId,
      amountCents: input.amountCents,
      kind: "usage",
      idempotencyKey: ledgerKey("usage", input.userId, input.idempotencyKey),
      description: input.description,
    }),
  );
  return change;
}
