import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * The one error type with a stable code and an HTTP status. Routes throw it; the app maps it to
 * `{"error":{"code","message"}}`. The message says what to do next. Recognise errors by `code`.
 *
 * @example
 * throw new AppError("INSUFFICIENT_CREDITS", 402, "Buy credits to continue.");
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: ContentfulStatusCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(
    code: string,
    status: ContentfulStatusCode,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

export function errorBody(code: string, message: string, details?: Record<string, unknown>) {
  return { error: { code, message, ...details } };
}
