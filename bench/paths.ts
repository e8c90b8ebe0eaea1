import type { Pool } from "../src/db/pool.js";
import type { Ledger, SpendBatcher } from "../src/ledger/index.js";
import type { SpendCall } from "./measure.js";

/**
 * The raw SQL baseline the issue names: one transaction per spend, BEGIN, conditional UPDATE,
 * INSERT, COMMIT, on a pooled connection. No idempotency check, no validation, no assertions.
 */
export function rawSpend(pool: Pool): (call: SpendCall) => Promise<boolean> {
  return async (call) => {
    const client = await pool.connect();
    try {
      await client.query("begin");
      const debited = await client.query(
        `update credits.accounts set balance_cents = balance_cents - $2, updated_at = now()
          where user_id = $1 and balance_cents - held_cents >= $2`,
        [call.userId, call.amountCents],
      );
      if (debited.rowCount !== 1) {
        await client.query("rollback");
        return false;
      }
      await client.query(
        "insert into credits.entries (user_id, amount_cents, kind, idempotency_key) values ($1, $2, 'usage', $3)",
        [call.userId, -call.amountCents, call.idempotencyKey],
      );
      await client.query("commit");
      return true;
    } catch (error) {
      await client.query("rollback").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
}

export function moduleSpend(ledger: Ledger): (call: SpendCall) => Promise<boolean> {
  return async (call) => (await ledger.spend(call)).error === null;
}

export function batchedSpend(batcher: SpendBatcher): (call: SpendCall) => Promise<boolean> {
  return async (call) => (await batcher.spend(call)).error === null;
}
