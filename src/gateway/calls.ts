import type { PoolClient } from "../db/pool.js";
import { statement } from "../db/statement.js";
import { holdPlacedByThisTransaction, holdResolvedAs } from "../ledger/index.js";
import type { DependentWrite } from "../ledger/types.js";

/** A call remembered by its Idempotency-Key, as a retry finds it. */
export type RememberedCall = {
  requestHash: string;
  status: "streaming" | "completed" | "failed";
  model: string;
  text: string | null;
  finishReason: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  createdAt: Date;
};

const findStatement = statement(
  "gateway_find_call",
  `select request_hash as "requestHash", status, model, text, finish_reason as "finishReason",
          input_tokens as "inputTokens", output_tokens as "outputTokens", created_at as "createdAt"
     from metering.gateway_calls where scope = $1`,
);

/** The call remembered under `scope`, or null. */
export async function findCall(client: PoolClient, scope: string): Promise<RememberedCall | null> {
  const { rows } = await client.query<RememberedCall>({ ...findStatement, values: [scope] });
  return rows[0] ?? null;
}

/** Forgets a call that failed before any output (nothing was charged), so its key may run again. */
export async function forgetFailedCall(client: PoolClient, scope: string): Promise<void> {
  await client.query("delete from metering.gateway_calls where scope = $1 and status = 'failed'", [scope]);
}

const startStatement = statement(
  "gateway_start_call",
  `insert into metering.gateway_calls (scope, user_id, hold_key, request_hash, model)
   select $1, $2, $3, $4, $5 where ${holdPlacedByThisTransaction("$3")}`,
);

/** Remembers the call, only if this transaction placed its hold: a write for `ledger.placeHoldThen`. */
export function startCallWrite(input: {
  scope: string;
  userId: string;
  holdKey: string;
  requestHash: string;
  model: string;
}): DependentWrite {
  return {
    ...startStatement,
    values: [input.scope, input.userId, input.holdKey, input.requestHash, input.model],
  };
}

const finishStatement = statement(
  "gateway_finish_call",
  `update metering.gateway_calls
      set status = $2, text = $3, finish_reason = $4, input_tokens = $5, output_tokens = $6,
          charged_cents = $7, finished_at = now()
    where scope = $1 and ${holdResolvedAs("$8", "$9")}`,
);

/** Saves how the call ended, only if the ledger resolved its hold as planned: for settleHoldThen/releaseHoldThen. */
export function finishCallWrite(input: {
  scope: string;
  status: "completed" | "failed";
  text: string;
  finishReason: string;
  inputTokens: number;
  outputTokens: number;
  chargedCents: number;
  holdId: string;
  holdStatus: "settled" | "released";
}): DependentWrite {
  return {
    ...finishStatement,
    values: [
      input.scope,
      input.status,
      input.text,
      input.finishReason,
      input.inputTokens,
      input.outputTokens,
      input.chargedCents,
      input.holdId,
      input.holdStatus,
    ],
  };
}
