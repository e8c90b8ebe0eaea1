import type { Pool } from "../db/pool.js";
import { recordLedgerOperation } from "../metrics/registry.js";
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

type Waiting = {
  request: SpendRequest;
  resolve: (result: Result<Change>) => void;
  reject: (error: unknown) => void;
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
  const maxBatchSize = Math.min(Math.max(options.maxBatchSize ?? 256, 1), 1_000);
  const maxConcurrentBatches = Math.min(Math.max(options.maxConcurrentBatches ?? 4, 1), 64);
  const queue: Waiting[] = [];
  let inFlight = 0;
  let scheduled = false;
  const idle: (() => void)[] = [];
  const counts = { batches: 0, batchedSpends: 0, oneByOneSpends: 0 };

  const oneByOne = (waiting: Waiting) => {
    counts.oneByOneSpends += 1;
    const { request } = waiting;
    const kind = request.kind as "usage" | "adjustment";
    const reference = request.reference ?? undefined;
    ledger.spend({ ...request, kind, reference }).then(waiting.resolve, waiting.reject);
  };

  const run = async (batch: Waiting[]) => {
    counts.batches += 1;
    try {
      const decisions = await applySpendBatch(
        pool,
        batch.map((waiting) => waiting.request),
      );
      batch.forEach((waiting, index) => {
        const decision = decisions[index];
        if (decision && "applied" in decision) {
          counts.batchedSpends += 1;
          recordLedgerOperation("spend_batched", "ok");
          waiting.resolve({ data: decision.applied, error: null });
        } else oneByOne(waiting);
      });
    } catch {
      // The statement was rolled back whole (a key raced in, a deadlock, a lost connection): answer
      // each spend on its own, where a real failure reaches its caller.
      for (const waiting of batch) oneByOne(waiting);
    }
  };

  const pump = () => {
    scheduled = false;
    while (inFlight < maxConcurrentBatches && queue.length > 0) {
      const batch = takeDistinctKeys(queue, maxBatchSize);
      inFlight += 1;
      void run(batch).finally(() => {
        inFlight -= 1;
        if (queue.length > 0) pump();
        else if (inFlight === 0) for (const done of idle.splice(0)) done();
      });
    }
  };

  return {
    spend: (input) => {
      const kind = input.kind ?? "usage";
      const problem = checkOneOf("kind", kind, ["usage", "adjustment"]) ?? checkChange(input);
      if (problem) return Promise.resolve(problem);
      const request: SpendRequest = {
        userId: input.userId,
        amountCents: input.amountCents,
        kind,
        idempotencyKey: input.idempotencyKey,
        reference: input.reference ?? null,
        description: input.description ?? "",
      };
      return new Promise((resolve, reject) => {
        queue.push({ request, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          // Let the callers of this tick join the batch before it leaves.
          setImmediate(pump);
        }
      });
    },
    stats: () => ({ ...counts }),
    drain: () =>
      queue.length === 0 && inFlight === 0 ? Promise.resolve() : new Promise<void>((done) => idle.push(done)),
  };
}

/** Up to `limit` queued spends with distinct keys; a repeated key waits for the next batch. */
function takeDistinctKeys(queue: Waiting[], limit: number): Waiting[] {
  const batch: Waiting[] = [];
  const keys = new Set<string>();
  for (let index = 0; index < queue.length && batch.length < limit; ) {
    const waiting = queue[index] as Waiting;
    if (keys.has(waiting.request.idempotencyKey)) {
      index++;
      continue;
    }
    keys.add(waiting.request.idempotencyKey);
    batch.push(waiting);
    queue.splice(index, 1);
  }
  return batch;
}
