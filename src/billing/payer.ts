import type { PoolClient } from "../db/pool.js";
import { accountExists } from "../ledger/payments.js";
import { type BillingContext, expectLedger } from "./context.js";

// Better Auth's user table (migration 0003, schema `auth_coinslot`). Read-only here: billing only
// needs the email to open a credits account for someone who paid before their first signed-in
// request created it.
const authUserTable = 'auth_coinslot."user"';

async function signedUpEmail(client: PoolClient, userId: string): Promise<string | null> {
  const table = await client.query<{ found: string | null }>("select to_regclass($1)::text as found", [
    authUserTable,
  ]);
  if (!table.rows[0]?.found) return null;
  const result = await client.query<{ email: string }>(`select email from ${authUserTable} where id = $1`, [
    userId,
  ]);
  return result.rows[0]?.email ?? null;
}

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
  if (await accountExists(client, userId)) return true;
  const email = await signedUpEmail(client, userId);
  if (!email) return false;
  const opened = await context.ledger.ensureAccount({
    userId,
    email,
    signupBonusCents: context.config.newUserCreditsCents,
    client,
  });
  expectLedger(opened, "opening the payer's account");
  return true;
}
