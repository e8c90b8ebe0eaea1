import { type ErrorCode, type ErrorStatus, errorStatus } from "./error-codes.js";

/**
 * The one error type with a stable code; its HTTP status comes from the table in `error-codes.ts`,
 * so one code never answers two statuses. Routes throw it; the app maps it to
 * `{"error":{"code","message",...details}}`. The message says what to do next.
 *
 * @example
 * throw new AppError("INSUFFICIENT_CREDITS", "Buy credits to continue.", { neededCents: 12 });
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: ErrorStatus;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.status = errorStatus[code];
    this.details = details;
  }
}

/** The body of every error answer: `{"error":{"code","message",...details}}`. */
export function errorBody(code: string, message: string, details?: Record<string, unknown>) {
  return { error: { code, message, ...details } };
}
