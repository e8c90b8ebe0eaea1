import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AppError } from "./errors.js";

/**
 * Every `/api/*` JSON body but the chat's and Stripe's: a checkout, a sign-in or an adjustment is a
 * few hundred bytes, so tens of KiB leaves room for any real one and refuses a body meant to exhaust
 * memory before it is buffered.
 */
export const apiBodyLimitBytes = 32 * 1024;

function describeBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}

/**
 * Refuses a body longer than `maxBytes` with 413 PAYLOAD_TOO_LARGE, counting as it streams, so a
 * missing or lying Content-Length does not help. `advice` tells the caller what to do instead.
 *
 * @example
 * app.post("/api/checkout", limitBody({ maxBytes: apiBodyLimitBytes }), handler);
 */
export function limitBody(options: { maxBytes: number; advice?: string }): MiddlewareHandler {
  const advice = options.advice ?? "Send a smaller request body.";
  return bodyLimit({
    maxSize: options.maxBytes,
    onError: () => {
      throw new AppError(
        "PAYLOAD_TOO_LARGE",
        `The request body is larger than ${describeBytes(options.maxBytes)}, the most this route accepts. ${advice}`,
        { limitBytes: options.maxBytes },
      );
    },
  });
}

/**
 * `limitBody` for every `/api/*` path except those in `ownLimits`, which set their own (the chat's
 * prompt, Stripe's raw events).
 */
export function limitApiBodies(ownLimits: string[]): MiddlewareHandler {
  const limit = limitBody({ maxBytes: apiBodyLimitBytes });
  return (context, next) => (ownLimits.includes(context.req.path) ? next() : limit(context, next));
}
