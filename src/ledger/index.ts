import type { Pool } from "../db/pool.js";
import { recordLedgerOperation } from "../metrics/registry.js";
import { closeAccount, ensureAccount, getBalance, listEntries } from "./accounts.js";
import type { Target } from "./execute.js";
import { placeHoldThen, releaseHoldThen, settleHoldThen } from "./hold-protocol.js";
import { placeHold } from "./holds.js";
import { type Movement, move } from "./movements.js";
import { getHold, releaseHold, settleHold } from "./resolve.js";

import { expireHolds } from "./sweep.js";
import type { Change, EntryKind, Guarded, Ledger, Result } from "./types.js";
import { checkOneOf } from "./validate.js";

export { emailClosedBefore, maxPageSize } from "./accounts.js";
export { holdPlacedByThisTransaction, holdResolvedAs } from "./hold-protocol.js";
export {
  type EntryPage,
  findAccount,
  findBalance,
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
export type { Ledger } from "./types.js";

const grantKinds = ["signup_bonus", "purchase", "adjustment", "dispute_reversal"] as const;
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
export function createLedger(options: { pool: Pool; holdTtlSeconds: number }): Ledger {
  const { pool, holdTtlSeconds } = options;
  return {
    ensureAccount: ({ client, savepoint, ...input }) =>
      measured("ensure_account", ensureAccount({ pool, client, savepoint }, input)),
    closeAccount: ({ client, savepoint, userId }) =>
      measured("close_account", closeAccount({ pool, client, savepoint }, userId)),
    grant: ({ client, savepoint, ...input }) =>
      measured(
        "grant",
        moveOfKind(
          grantKinds,
          { pool, client, savepoint },
          { ...input, direction: "credit", mayOverdraw: true },
        ),
      ),
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
    listEntries: (input) => listEntries({ pool }, input),
  };
}
