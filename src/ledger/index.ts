import type { Pool } from "../db/pool.js";
import { recordLedgerOperation } from "../metrics/registry.js";
import { closeAccount, ensureAccount, getBalance, listEntries } from "./accounts.js";
import type { Target } from "./execute.js";
import { placeHoldThen, releaseHoldThen, settleHoldThen } from "./hold-protocol.js";
import { placeHold } from "./holds.js";
import { expiredOfPurchase, expireLots, type LotDays, lotOf, setSpendLimit } from "./lots.js";
import { type Movement, move } from "./movements.js";
import { findCreditSummary } from "./reads.js";
import { getHold, releaseHold, settleHold } from "./resolve.js";
import { accountNotFound, fail, ok } from "./results.js";
import { expireHolds } from "./sweep.js";
import type { Change, CreditSummary, EntryKind, Guarded, Ledger, Result } from "./types.js";
import { checkOneOf, checkUserId } from "./validate.js";

export { emailClosedBefore, maxPageSize } from "./accounts.js";
export { createHoldBatcher, type HoldBatcher } from "./hold-batcher.js";
export { holdPlacedByThisTransaction, holdResolvedAs } from "./hold-protocol.js";
export {
  type EntryPage,
  findAccount,
  findBalance,
  findCreditSummary,
  findUserIdByEmail,
  holdTotalsByKeyPrefix,
  openHoldTotals,
  publicEntryPage,
  readEntryPage,
  searchAccounts,
} from "./reads.js";
export { unwrap } from "./results.js";
export { createSpendBatcher, type SpendBatcher } from "./spend-batcher.js";
export { startHoldSweeper } from "./sweeper.js";
export type { EntryLot, Ledger } from "./types.js";

const grantKinds = ["signup_bonus", "purchase", "adjustment", "dispute_reversal", "promo_code"] as const;
const spendKinds = ["usage", "adjustment"] as const;
const clawBackKinds = ["refund", "dispute"] as const;

/** Counts each outcome (ok, replayed, or the error code) for /metrics, and passes the result on. */
async function measured<T>(operation: string, pending: Promise<Result<T>>): Promise<Result<T>> {
  const result = await pending;
  const replayed = result.data !== null && (result.data as { replayed?: boolean }).replayed === true;
  recordLedgerOperation(operation, result.error ? result.error.code : replayed ? "replayed" : "ok");
  return result;
}

/** `measured` for the hold protocol: counts the hold's outcome, passes the writes' row counts on. */
async function measuredGuarded<T>(operation: string, pending: Promise<Guarded<T>>): Promise<Guarded<T>> {
  const guarded = await pending;
  await measured(operation, Promise.resolve(guarded.result));
  return guarded;
}

/** Each operation accepts only its own kinds of entry (a grant cannot write `usage`). */
function moveOfKind(
  allowed: readonly EntryKind[],
  target: Target,
  movement: Movement,
): Promise<Result<Change>> {
  const problem = checkOneOf("kind", movement.kind, allowed);
  return problem ? Promise.resolve(problem) : move(target, movement);
}

/**
 * The only writer of credit tables. Every change is one conditional SQL statement (its own
 * transaction, or a savepoint inside the caller's `client` transaction), idempotent by key.
 *
 * @example
 * const ledger = createLedger({ pool, holdTtlSeconds: config.holdTtlSeconds });
 * const spent = await ledger.spend({ userId, amountCents: 12, idempotencyKey: `chat:${messageId}` });
 * if (spent.error?.code === "INSUFFICIENT_CREDITS") ...
 */
export function createLedger(options: {
  pool: Pool;
  holdTtlSeconds: number;
  /** PROMO_CREDIT_DAYS (default 90) and PAID_CREDIT_DAYS (default: paid credit never expires). */
  lotDays?: Partial<LotDays>;
}): Ledger {
  const { pool, holdTtlSeconds } = options;
  const lotDays: LotDays = {
    promoCreditDays: options.lotDays?.promoCreditDays ?? 90,
    paidCreditDays: options.lotDays?.paidCreditDays,
  };
  return {
    ensureAccount: ({ client, savepoint, ...input }) =>
      measured(
        "ensure_account",
        ensureAccount({ pool, client, savepoint }, { ...input, promoCreditDays: lotDays.promoCreditDays }),
      ),
    closeAccount: ({ client, savepoint, userId }) =>
      measured("close_account", closeAccount({ pool, client, savepoint }, userId)),
    grant: ({ client, savepoint, category, expiresAt, ...input }) => {
      const lot = lotOf(lotDays, { kind: input.kind, category, expiresAt });
      if (lot.error)
        return measured("grant", Promise.resolve(fail<Change>(lot.error.code, lot.error.message)));
      return measured(
        "grant",
        moveOfKind(
          grantKinds,
          { pool, client, savepoint },
          { ...input, direction: "credit", mayOverdraw: true, lot: lot.data },
        ),
      );
    },
    spend: ({ client, savepoint, kind = "usage", ...input }) =>
      measured(
        "spend",
        moveOfKind(
          spendKinds,
          { pool, client, savepoint },
          { ...input, kind, direction: "debit", mayOverdraw: false },
        ),
      ),
    clawBack: ({ client, savepoint, ...input }) =>
      measured(
        "claw_back",
        moveOfKind(
          clawBackKinds,
          { pool, client, savepoint },
          { ...input, direction: "debit", mayOverdraw: true },
        ),
      ),
    placeHold: ({ client, savepoint, ttlSeconds = holdTtlSeconds, ...input }) =>
      measured("place_hold", placeHold({ pool, client, savepoint }, { ...input, ttlSeconds })),
    settleHold: ({ client, savepoint, ...input }) =>
      measured("settle_hold", settleHold({ pool, client, savepoint }, input)),
    releaseHold: ({ client, savepoint, ...input }) =>
      measured("release_hold", releaseHold({ pool, client, savepoint }, input)),
    placeHoldThen: ({ client, writes, ttlSeconds = holdTtlSeconds, ...input }) =>
      measuredGuarded("place_hold", placeHoldThen({ pool, client }, { ...input, ttlSeconds }, writes)),
    settleHoldThen: ({ client, writes, ...input }) =>
      measuredGuarded("settle_hold", settleHoldThen({ pool, client }, input, writes)),
    releaseHoldThen: ({ client, writes, ...input }) =>
      measuredGuarded("release_hold", releaseHoldThen({ pool, client }, input, writes)),
    getHold: (holdId) => getHold({ pool }, holdId),
    sweepExpiredHolds: (input = {}) => expireHolds({ pool }, input),
    getBalance: (userId) => getBalance({ pool }, userId),
    getCreditSummary: async (userId) => {
      const problem = checkUserId(userId);
      if (problem) return problem;
      const summary = await findCreditSummary({ pool }, userId);
      return summary ? ok(summary) : accountNotFound<CreditSummary>(userId);
    },
    setSpendLimit: (input) => measured("set_spend_limit", setSpendLimit(pool, input)),
    sweepExpiredLots: (input = {}) => expireLots({ pool }, input),
    expiredOfPurchase: ({ client, ...input }) => expiredOfPurchase({ pool, client }, input),
    listEntries: (input) => listEntries({ pool }, input),
  };
}
