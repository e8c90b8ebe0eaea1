import { AppError } from "../kit/errors.js";
import type { LedgerError, LedgerErrorCode, Result } from "./types.js";

export function ok<T>(data: T): Result<T> {
  return { data, error: null };
}

export function fail<T>(
  code: LedgerErrorCode,
  message: string,
  details: Omit<LedgerError, "code" | "message"> = {},
): Result<T> {
  return { data: null, error: { code, message, ...details } };
}

/** The refusal for a user with no credits account yet. */
export function accountNotFound<T>(userId: string): Result<T> {
  return fail("ACCOUNT_NOT_FOUND", `No credits account for user ${userId}; it is created on first sign-in.`);
}

/**
 * A broken invariant is a bug, never an expected outcome: it throws, so the request fails loudly
 * (500, logged) instead of carrying on with money that does not add up.
 */
export function assertInvariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`ledger invariant broken: ${message}`);
}

/**
 * The data of a ledger result, or the ledger's error thrown as an AppError: its status comes from
 * the one table of codes (402 for INSUFFICIENT_CREDITS, 409 for a reused key, ...), and the needed
 * and available cents travel as details. Every caller, HTTP route or webhook, fails the same way.
 *
 * @example
 * const { hold } = unwrap(await ledger.placeHold({ userId, amountCents: 40, idempotencyKey }));
 */
export function unwrap<T>(result: Result<T>): T {
  if (result.error === null) return result.data;
  const { code, message, ...details } = result.error;
  throw new AppError(code, message, details);
}
