import type { Pool } from "../db/pool.js";
import { type Statement, statement } from "../db/statement.js";
import { recordLedgerOperation } from "../metrics/registry.js";
import { type BatchCounts, createBatchQueue } from "./batch-queue.js";
import { checkPlaceHold, type HoldBalanceRow, placementOf } from "./holds.js";
import { checkSettleHold, type ResolveRow, settlementOf } from "./resolve.js";
import type {
  Ledger,
  PlacedHold,
  PlaceHoldRequest,
  Result,
  SettledHold,
  SettleHoldRequest,
} from "./types.js";

export type HoldBatcher = {
  /** Ledger.placeHold's contract (without `client`), its statement shared with the calls of the same moment. */
  placeHold(input: PlaceHoldRequest): Promise<Result<PlacedHold>>;
  /**
   * Ledger.settleHold's contract (without `client`), batched likewise. `userId` is the hold's
   * account: a batch settles in account order, as it places, so two batches never wait on each other
   * in a cycle.
   */
  settleHold(input: SettleHoldRequest & { userId: string }): Promise<Result<SettledHold>>;
  /** Waits for every queued call to be answered. */
  drain(): Promise<void>;
  stats(): { placed: BatchCounts; settled: BatchCounts };
};

// 0018_batched_holds.sql: each element runs the one-call statement, in the order given.
const placeBatch = statement(
  "ledger_place_holds",
  "select * from credits.place_holds($1::text[], $2::bigint[], $3::text[], $4::text[], $5::int[]) order by ordinal",
);
const settleBatch = statement(
  "ledger_settle_holds",
  "select * from credits.settle_holds($1::bigint[], $2::bigint[], $3::text[], $4::text[]) order by ordinal",
);

type Placing = PlaceHoldRequest & { ttlSeconds: number };
type Settling = SettleHoldRequest & { userId: string };

/**
 * Runs `batchStatement` once for `batch` in account order (stable: one account's calls keep their
 * order; two batches then lock accounts in the same order) and answers each call from its row, in
 * the batch's own order: `undefined` where the row has no hold, for the one-call path.
 */
async function runInAccountOrder<Call extends { userId: string }, Row extends { hold: unknown }, Answer>(
  pool: Pool,
  batch: Call[],
  batchStatement: Statement,
  valuesOf: (calls: Call[]) => unknown[],
  answerOf: (call: Call, row: Row) => Promise<Answer>,
): Promise<(Answer | undefined)[]> {
  const ordered = batch
    .map((call, index) => ({ call, index }))
    .sort((left, right) =>
      left.call.userId < right.call.userId
        ? -1
        : left.call.userId > right.call.userId
          ? 1
          : left.index - right.index,
    );
  const calls = ordered.map(({ call }) => call);
  const { rows } = await pool.query<Row>({ ...batchStatement, values: valuesOf(calls) });
  const answers: (Answer | undefined)[] = new Array(batch.length).fill(undefined);
  await Promise.all(
    ordered.map(async ({ call, index }, position) => {
      const row = rows[position];
      if (row?.hold) answers[index] = await answerOf(call, row);
    }),
  );
  return answers;
}

/**
 * Places and settles the holds of concurrent calls a batch per statement (createBatchQueue), with
 * the same results and invariants as the ledger's one-call `placeHold` and `settleHold`: a call the
 * batch does not apply (not enough credit, a key already used, a hold no longer open, or any error
 * that rolls the batch back) is answered by that one-call path, which places it, replays it or
 * says why not. For a caller that has nothing else to write with its hold (the gateway's plain
 * call), since most of what a hold costs PostgreSQL under concurrency is its statement, not its rows
 * (0018_batched_holds.sql has the numbers).
 *
 * @example
 * const holds = createHoldBatcher({ pool, ledger, holdTtlSeconds: 600 });
 * const placed = await holds.placeHold({ userId, amountCents: 12, idempotencyKey: `gw:${id}` });
 */
export function createHoldBatcher(options: {
  pool: Pool;
  ledger: Ledger;
  holdTtlSeconds: number;
  maxBatchSize?: number;
  maxConcurrentBatches?: number;
}): HoldBatcher {
  const { pool, ledger } = options;
  const sizes = {
    maxBatchSize: options.maxBatchSize ?? 128,
    maxConcurrentBatches: options.maxConcurrentBatches ?? 2,
  };

  const placing = createBatchQueue<Placing, Result<PlacedHold>>({
    ...sizes,
    keyOf: (call) => call.idempotencyKey,
    run: (batch) =>
      runInAccountOrder(
        pool,
        batch,
        placeBatch,
        (calls) => [
          calls.map((call) => call.userId),
          calls.map((call) => call.amountCents),
          calls.map((call) => call.idempotencyKey),
          calls.map((call) => call.description ?? ""),
          calls.map((call) => call.ttlSeconds),
        ],
        async (call, row: HoldBalanceRow) => {
          const placed = await placementOf({ pool }, call, [row]);
          recordLedgerOperation("place_hold_batched", placed.error ? placed.error.code : "ok");
          return placed;
        },
      ),
    oneByOne: (call) => ledger.placeHold(call),
  });

  const settling = createBatchQueue<Settling, Result<SettledHold>>({
    ...sizes,
    keyOf: (call) => call.holdId,
    run: (batch) =>
      runInAccountOrder(
        pool,
        batch,
        settleBatch,
        (calls) => [
          calls.map((call) => call.holdId),
          calls.map((call) => call.amountCents),
          calls.map((call) => call.reference ?? null),
          calls.map((call) => call.description ?? null),
        ],
        async (call, row: ResolveRow) => {
          const settled = await settlementOf({ pool }, call, [row]);
          recordLedgerOperation("settle_hold_batched", settled.error ? settled.error.code : "ok");
          return settled;
        },
      ),
    oneByOne: ({ userId: _account, ...call }) => ledger.settleHold(call),
  });

  return {
    placeHold: (input) => {
      const call = { ...input, ttlSeconds: input.ttlSeconds ?? options.holdTtlSeconds };
      const problem = checkPlaceHold(call);
      return problem ? Promise.resolve(problem) : placing.submit(call);
    },
    settleHold: (input) => {
      const problem = checkSettleHold(input);
      return problem ? Promise.resolve(problem) : settling.submit(input);
    },
    drain: async () => {
      await Promise.all([placing.drain(), settling.drain()]);
    },
    stats: () => ({ placed: placing.stats(), settled: settling.stats() }),
  };
}
