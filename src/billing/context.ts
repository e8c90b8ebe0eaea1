import type { Config } from "../config.js";
import type { Pool } from "../db/pool.js";
import type { Ledger, Result } from "../ledger/types.js";
import type { Logger } from "../logger.js";
import type { Stripe } from "./stripe.js";

/** What billing needs from the app: the shared dependencies, plus the Stripe client when configured. */
export type BillingDependencies = { config: Config; pool: Pool; logger: Logger; ledger: Ledger };
export type BillingContext = BillingDependencies & { stripe: Stripe | undefined };

/**
 * The data of a ledger result inside a billing transaction. A failure here is not the payer's fault
 * and not final, so it is thrown: the transaction rolls back (event record included) and the webhook
 * answers 500, which makes Stripe deliver the event again.
 */
export function expectLedger<T>(result: Result<T>, what: string): T {
  if (result.error === null) return result.data;
  throw new Error(`${what} failed: ${result.error.code}: ${result.error.message}`);
}
