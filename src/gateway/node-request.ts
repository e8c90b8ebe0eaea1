import { IncomingMessage } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import { limitBody } from "../kit/body-limit.js";

/** Node's request under @hono/node-server (`context.env.incoming`), or undefined elsewhere (`app.request`). */
function incomingOf(context: Context): IncomingMessage | undefined {
  const incoming = (context.env as { incoming?: unknown } | undefined)?.incoming;
  return incoming instanceof IncomingMessage ? incoming : undefined;
}

/**
 * A request header, read from Node's parsed headers when there are some: asking Hono builds a
 * WHATWG Headers object from every raw header first, on every call.
 */
export function headerOf(context: Context, name: "authorization" | "idempotency-key"): string | undefined {
  const incoming = incomingOf(context);
  if (!incoming) return context.req.header(name);
  // Every occurrence joined, as Headers.get joins them (`headers` would keep only the first Authorization).
  return incoming.headersDistinct[name]?.join(", ");
}

/**
 * `limitBody` for a hot route: a Node request whose Content-Length is within `maxBytes` (and has no
 * Transfer-Encoding) goes straight on, since Node's parser never reads past that length; everything
 * else (no length, too long, not Node) is counted by `limitBody`. Asking Hono's body limit about the
 * body builds a web Request and stream around the socket, which the adapter's direct read of a small
 * body then has to go through.
 */
export function limitBodyFast(options: { maxBytes: number; advice?: string }): MiddlewareHandler {
  const limit = limitBody(options);
  return (context, next) => {
    const headers = incomingOf(context)?.headers;
    const length = headers?.["content-length"];
    if (length !== undefined && headers?.["transfer-encoding"] === undefined && /^\d{1,15}$/.test(length)) {
      if (Number(length) <= options.maxBytes) return next();
    }
    return limit(context, next);
  };
}
