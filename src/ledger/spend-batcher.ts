import type { Pool } from "../db/pool.js";
import { recordLedgerOperation } from "../metrics/registry.js";
import { createBatchQueue } from "./batch-queue.js";
import { applySpendBatch, type SpendRequest } from "./spend-batch.js";
import type { Change, Ledger, Result } from "./types.js";
import { checkChange, checkOneOf } from "./validate.js";

export type SpendBatcher = {
  /** The same contract as Ledger.spend (without `client`): one result per caller, idempotent by key. */
  spend(input: Omit<Parameters<Ledger["spend"]>[0], "client">): Promise<Result<Change>>;
  /** Waits for every queued spend to be answered. */
  drain(): Promise<void>;
  /** How many statements ran, how many spends they applied, how many took the one-by-one path. */
  stats(): { batches: number; batchedSpends: number; oneByOneSpends: number };
};

/**
 * Coalesces concurrent spends into one statement per batch: while a batch is in the database, the
 * spends that arrive queue up and leave together in the next one, so a burst costs a few commits
 * instead of one each. Every caller still gets its own result, in the order the spends arrived,
 * with the same invariants as Ledger.spend; replays and refusals are answered by that one-by-one
 * path. At most `maxBatchSize` spends per statement and `maxConcurrentBatches` statements at once.
 *
 * @example
 * const batcher = createSpendBatcher({ pool, ledger });
 * const spent = await batcher.spend({ userId, amountCents: 3, idempotencyKey: `chat:${id}` });
 */
export function createSpendBatcher(options: {
  pool: Pool;
  ledger: Ledger;
  maxBatchSize?: number;
  maxConcurrentBatches?: number;
}): SpendBatcher {
  const { pool, ledger } = options;
  const queue = createBatchQueue<SpendRequest, Result<Change>>({
    maxBatchSize: options.maxBatchSize,
    maxConcurrentBatches: options.maxConcurrentBatches,
    keyOf: (request) => request.idempotencyKey,
    run: async (batch) =>
      (await applySpendBatch(pool, batch)).map((decision) => {
        if (!("applied" in decision)) return undefined;
        recordLedgerOperation("spend_batched", "ok");
        return { data: decision.applied, error: null };
      }),
    oneByOne: (request) => {
      const kind = request.kind as "usage" | "adjustment";
      const reference = request.reference ?? undefined;
      return ledger.spend({ ...request, kind, reference });
    },
  });

  return {
    spend: (input) => {
      const kind = input.kind ?? "usage";
      const problem = checkOneOf("kind", kind, ["usage", "adjustment"]) ?? checkChange(input);
      if (problem) return Promise.resolve(problem);
      return queue.submit({
        userId: input.userId,
        amountCents: input.amountCents,
        kind,
        idempotencyKey: input.idempotencyKey,
        reference: input.reference ?? null,
        description: input.description ?? "",
      });
    },
    stats: () => {
      const counts = queue.stats();
      return { batches: counts.batches, batchedSpends: counts.batched, oneByOneSpends: counts.oneByOne };
    },
    drain: () => queue.drain(),
  };
}
