import { findUserEmail } from "../auth/users.js";
import type { PoolClient } from "../db/pool.js";
import { findBalance, unwrap } from "../ledger/index.js";
import type { BillingContext } from "./context.js";

/**
 * Makes sure the payer has a credits account, creating it (with the starter credits, once) when
 * Better Auth knows the user but no signed-in request has opened the account yet. False when no
 * such user exists at all.
 */
export async function ensurePayerAccount(
  context: BillingContext,
  client: PoolClient,
  userId: string,
): Promise<boolean> {
  // On the transaction's own connection: borrowing a second one from the pool while holding this
  // one deadlocks the pool when many deliveries wait on each other.
  if (await findBalance({ pool: context.pool, client }, userId)) return true;
  const email = await findUserEmail(client, userId);
  if (!email) return false;
  const opened = await context.ledger.ensureAccount({
    userId,
    email,
    signupBonusCents: context.config.newUserCreditsCents,
    client,
  });
  unwrap(opened);
  return true;
}
