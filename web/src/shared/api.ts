import { type ErrorCode, isErrorCode } from "../../../src/kit/error-codes.js";

/**
 * What a failure is: one of the server's codes (one table, src/kit/error-codes.ts), `NETWORK` when the
 * server could not be reached, `CHAT_FAILED` when an answer's stream broke off with a message that is
 * not the server's JSON, or `UNRECOGNISED` for a code the table does not have (a Better Auth code
 * passed through, a proxy's error page); the message is still the server's.
 */
export type ApiErrorCode = ErrorCode | "NETWORK" | "CHAT_FAILED" | "UNRECOGNISED";

/**
 * The web app's only door to the server: JSON over HTTP with the session cookie. Failures are values
 * with a stable code and the server's message (which says what to do next), never thrown.
 */
export type ApiError = {
  code: ApiErrorCode;
  message: string;
  status: number;
  fields?: string[];
  /** For INSUFFICIENT_CREDITS: what the answer needs and what is available. */
  neededCents?: number;
  availableCents?: number;
};
export type ApiResult<T> = { data: T; error: null } | { data: null; error: ApiError };

type ErrorShape = {
  code?: unknown;
  message?: unknown;
  fields?: unknown;
  neededCents?: unknown;
  availableCents?: unknown;
};

const networkError: ApiError = {
  code: "NETWORK",
  message: "Could not reach Coinslot. Check your connection and try again.",
  status: 0,
};

/** Reads both Coinslot's `{"error":{code,message}}` and Better Auth's `{code,message}`. */
export function readError(status: number, body: unknown): ApiError {
  const outer = (body ?? {}) as ErrorShape & { error?: ErrorShape };
  const shape: ErrorShape = typeof outer.error === "object" && outer.error ? outer.error : outer;
  const fields = Array.isArray(shape.fields) ? shape.fields.map(String) : undefined;
  return {
    code: typeof shape.code === "string" && isErrorCode(shape.code) ? shape.code : "UNRECOGNISED",
    message:
      typeof shape.message === "string" && shape.message
        ? shape.message
        : "Something went wrong on our side. Try again in a moment.",
    status,
    ...(fields ? { fields } : {}),
    ...(typeof shape.neededCents === "number" ? { neededCents: shape.neededCents } : {}),
    ...(typeof shape.availableCents === "number" ? { availableCents: shape.availableCents } : {}),
  };
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

export async function api<T>(
  path: string,
  options: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<ApiResult<T>> {
  const hasBody = options.body !== undefined;
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? (hasBody ? "POST" : "GET"),
      headers: hasBody ? { "content-type": "application/json" } : {},
      body: hasBody ? JSON.stringify(options.body) : undefined,
      credentials: "same-origin",
      signal: options.signal,
    });
  } catch {
    return { data: null, error: networkError };
  }
  const body = parseJson(await response.text().catch(() => ""));
  if (!response.ok) return { data: null, error: readError(response.status, body) };
  return { data: body as T, error: null };
}

/** The error inside a failed `useChat` request, whose message is the response body. */
export function chatError(error: Error): ApiError {
  const body = parseJson(error.message);
  if (body && typeof body === "object") return readError(0, body);
  return { code: "CHAT_FAILED", message: error.message || networkError.message, status: 0 };
}
