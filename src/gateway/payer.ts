import { createHash } from "node:crypto";
import type { Config } from "../config.js";
import type { Pool } from "../db/pool.js";
import { type AttemptCount, countAttempt } from "../db/rate-limit.js";
import { AppError } from "../kit/errors.js";
import type { Ledger } from "../ledger/types.js";
import { customerIdPattern, findCustomer, putCustomer } from "../metering/customers.js";
import { findUsableKey, isServiceKeySecret } from "../metering/keys.js";
import { findPersonalKeyCounted, isPersonalKeySecret } from "./personal-keys.js";

/** Whose credits a gateway call spends, and how its holds and idempotency keys are named. */
export type Payer = {
  userId: string;
  /** For the ledger entry: which key (and customer) made the call. */
  label: string;
  /** Starts every hold key of this payer's calls; a personal key's limit sums its holds by it. */
  holdPrefix: string;
  /** Starts the scope of this payer's Idempotency-Keys, so two callers' keys never collide. */
  scopePrefix: string;
  /** A personal key's monthly limit, enforced under the key's row lock. */
  limit: { keyId: string; monthlyLimitCents: number } | null;
};

/** A key that authenticates before the body is read: which kind, and its id for the rate limit. */
export type Caller =
  | { kind: "personal"; keyId: string; userId: string; name: string; monthlyLimitCents: number | null }
  | { kind: "service"; keyId: string };

const advice =
  "Send `Authorization: Bearer cpk_...` (a personal key from the API keys page) or `Bearer csk_...` (a service key) with the request's `user`.";

function invalidKey(problem: string): AppError {
  return new AppError("INVALID_API_KEY", `${problem} ${advice}`);
}

/**
 * The caller of a gateway request, from `Authorization: Bearer <key>`, counted against the key's
 * rate limit (METERING_RATE_LIMIT_*, in the database, shared by every server process). A missing,
 * malformed, unknown or revoked key is 401 INVALID_API_KEY; over the limit, 429 RATE_LIMITED.
 */
export async function authenticateCaller(
  context: { pool: Pool; config: Pick<Config, "meteringRateLimit"> },
  header: string | undefined,
): Promise<Caller> {
  if (!header) throw invalidKey("This request has no Authorization header.");
  const [scheme, secret, ...rest] = header.trim().split(/\s+/);
  if (scheme?.toLowerCase() !== "bearer" || !secret || rest.length > 0) {
    throw invalidKey("The Authorization header is not `Bearer <key>`.");
  }
  const { meteringRateLimit } = context.config;
  let caller: Caller;
  let attempt: AttemptCount;
  if (isPersonalKeySecret(secret)) {
    // The key and its count in one round trip: this runs before every call's hold.
    const found = await findPersonalKeyCounted(context.pool, secret, {
      action: "gateway",
      ...meteringRateLimit,
    });
    if (!found) throw invalidKey("This key is unknown or revoked.");
    caller = { kind: "personal", keyId: found.key.id, ...found.key };
    attempt = found.attempt;
  } else if (isServiceKeySecret(secret)) {
    const key = await findUsableKey(context.pool, secret);
    if (!key) throw invalidKey("This key is unknown or revoked.");
    caller = { kind: "service", keyId: key.id };
    attempt = await countAttempt(context.pool, {
      subject: `service_key:${caller.keyId}`,
      action: "gateway",
      ...meteringRateLimit,
    });
  } else {
    throw invalidKey("This is not a Coinslot key.");
  }
  if (!attempt.allowed) {
    throw new AppError(
      "RATE_LIMITED",
      `This key sent more than ${meteringRateLimit.max} requests in ${meteringRateLimit.windowSeconds} seconds. Try again in ${attempt.retryAfterSeconds} seconds.`,
      { retryAfterSeconds: attempt.retryAfterSeconds },
    );
  }
  return caller;
}

// A customer the gateway meets first has no email yet: it gets an address that names nobody and
// receives no mail (`.invalid` never delivers), until the app sends the real one with PUT.
function placeholderEmail(customerId: string): string {
  const digest = createHash("sha256").update(customerId).digest("hex").slice(0, 32);
  return `customer-${digest}@customers.invalid`;
}

/**
 * Who pays for a call: a personal key's owner, or, for a service key, the app's customer named by
 * the request's `user` (created as they connect, as `PUT /v1/customers/:id` does).
 */
export async function payerOf(
  context: { pool: Pool; ledger: Ledger; config: Pick<Config, "newUserCreditsCents"> },
  caller: Caller,
  user: string | undefined,
): Promise<Payer> {
  if (caller.kind === "personal") {
    return {
      userId: caller.userId,
      label: `key "${caller.name}"`,
      holdPrefix: `gw:cpk:${caller.keyId}:`,
      scopePrefix: `cpk:${caller.keyId}:`,
      limit:
        caller.monthlyLimitCents === null
          ? null
          : { keyId: caller.keyId, monthlyLimitCents: caller.monthlyLimitCents },
    };
  }
  if (user === undefined) {
    throw new AppError(
      "INVALID_REQUEST",
      "A call with a service key must name the app's customer who pays in `user` (their id in your app).",
      { fields: ["user"] },
    );
  }
  if (!customerIdPattern.test(user)) {
    throw new AppError(
      "INVALID_REQUEST",
      "`user` must be 1 to 128 letters, digits, or _ . : @ - (your app's id of the customer).",
      { fields: ["user"] },
    );
  }
  const found =
    (await findCustomer(context.pool, user)) ??
    (
      await putCustomer(
        { pool: context.pool, ledger: context.ledger, signupBonusCents: context.config.newUserCreditsCents },
        { id: user, email: placeholderEmail(user) },
      )
    ).customer;
  return {
    userId: found.userId,
    label: `app customer ${user}`,
    holdPrefix: `gw:csk:${caller.keyId}:`,
    scopePrefix: `csk:${caller.keyId}:${user}:`,
    limit: null,
  };
}
