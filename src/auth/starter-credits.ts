import type { Config } from "../config.js";
import type { Pool } from "../db/pool.js";
import { emailClosedBefore } from "../ledger/index.js";
import type { Ledger } from "../ledger/types.js";

type Person = { id: string; email: string; emailVerified: boolean };

/** Whether `person` has earned NEW_USER_CREDITS_CENTS: always, unless they wait for a verified email. */
export function earnsStarterCredits(
  config: Pick<Config, "requireEmailVerification">,
  person: Person,
): boolean {
  return !config.requireEmailVerification || person.emailVerified;
}

/**
 * Opens the person's credits account if it is not open yet, and grants the starter credits once they
 * are earned (see earnsStarterCredits). Exactly once per person however many requests, verification
 * clicks and servers race: the grant's idempotency key is the one the account's first entry uses
 * (`signup:<user id>`), so an account opened with them, or granted them before, is given nothing;
 * nor is an address whose earlier account was deleted (no minting by delete and sign up again).
 * Throws when the ledger refuses, so the caller can answer that the account could not be opened.
 *
 * @example
 * await openCreditsAccount({ config, ledger, pool }, { id, email, emailVerified: true });
 */
export async function openCreditsAccount(
  dependencies: {
    config: Pick<Config, "requireEmailVerification" | "newUserCreditsCents">;
    ledger: Ledger;
    pool: Pool;
  },
  person: Person,
): Promise<void> {
  const { config, ledger } = dependencies;
  const earned = earnsStarterCredits(config, person) ? config.newUserCreditsCents : 0;
  const opened = await ledger.ensureAccount({
    userId: person.id,
    email: person.email,
    signupBonusCents: earned,
  });
  if (opened.error) throw new Error(`${opened.error.code}: ${opened.error.message}`);
  // Opened just now, with the credits if earned; or not earned yet; or nothing to give; or this
  // address had an account that was deleted, and got its starter credits then.
  if (opened.data.created || earned === 0) return;
  if (await emailClosedBefore({ pool: dependencies.pool }, person.email)) return;
  const granted = await ledger.grant({
    userId: person.id,
    amountCents: earned,
    kind: "signup_bonus",
    idempotencyKey: `signup:${person.id}`,
    description: "Welcome credits",
  });
  // A replay (granted before, or opened with them) is the common case and changes nothing. A key
  // used with another amount means NEW_USER_CREDITS_CENTS changed since: the first grant stands.
  if (granted.error && granted.error.code !== "IDEMPOTENCY_KEY_REUSED") {
    throw new Error(`${granted.error.code}: ${granted.error.message}`);
  }
}
