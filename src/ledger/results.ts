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

/**
 * A broken invariant is a bug, never an expected outcome: it throws, so the request fails loudly
 * (500, logged) instead of carrying on with money that does not add up.
 */
export function assertInvariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`ledger invariant broken: ${message}`);
}
