import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { LedgerErrorCode, Result } from "../ledger/types.js";
import { AppError } from "./errors.js";

const statusOf: Record<LedgerErrorCode, ContentfulStatusCode> = {
  INVALID_AMOUNT: 400,
  INVALID_ARGUMENT: 400,
  ACCOUNT_NOT_FOUND: 404,
  INSUFFICIENT_CREDITS: 402,
  HOLD_NOT_FOUND: 404,
  HOLD_NOT_OPEN: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
};

/**
 * The data of a ledger result, or the ledger's error as an AppError with the matching HTTP status
 * (402 for INSUFFICIENT_CREDITS, 409 for a reused key, ...), keeping the needed and available cents.
 */
export function unwrap<T>(result: Result<T>): T {
  if (result.error === null) return result.data;
  const { code, message, ...details } = result.error;
  throw new AppError(code, statusOf[code] ?? 500, message, details);
}
