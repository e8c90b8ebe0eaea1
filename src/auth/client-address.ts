import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import type { Logger } from "../logger.js";

/**
 * The only header Better Auth reads a client address from (rate limiting, session records). Coinslot
 * sets it on every auth request and drops any value the client sent, so nobody can pick their own
 * rate-limit bucket by sending a made-up X-Forwarded-For.
 */
export const clientAddressHeader = "x-coinslot-client-address";

function peerAddress(context: Context): string | undefined {
  try {
    return getConnInfo(context).remote.address;
  } catch {
    // Not served by @hono/node-server (app.request in tests): there is no socket to ask.
    return undefined;
  }
}

function proxiedAddress(context: Context, header: string): string | undefined {
  const value = context.req.header(header);
  if (!value) return undefined;
  // A proxy appends the address it saw, so the last entry is the one no client could have forged.
  return value.split(",").at(-1)?.trim() || undefined;
}

/** The client's address: from CLIENT_IP_HEADER behind a trusted proxy, else the TCP peer. */
export function clientAddress(context: Context, trustedHeader: string | undefined): string | undefined {
  return trustedHeader ? proxiedAddress(context, trustedHeader) : peerAddress(context);
}

/**
 * Warns once, at the first request that carries X-Forwarded-For while CLIENT_IP_HEADER is unset:
 * behind a proxy every client then has the proxy's address, and so shares one sign-in rate limit.
 * Once is enough to be seen at start; a line per request would flood the log.
 *
 * @example
 * const warnIfProxied = proxyHeaderWarning({ logger, trustedHeader: config.clientIpHeader });
 * warnIfProxied(context);
 */
export function proxyHeaderWarning(options: {
  logger: Logger;
  trustedHeader: string | undefined;
}): (context: Context) => void {
  let warned = options.trustedHeader !== undefined;
  return (context) => {
    if (warned || context.req.header("x-forwarded-for") === undefined) return;
    warned = true;
    options.logger.warn(
      { setting: "CLIENT_IP_HEADER" },
      "A request arrived with X-Forwarded-For, but CLIENT_IP_HEADER is unset, so sign-in rate limits count by the proxy's address and every client behind it shares one limit. If a trusted reverse proxy in front of Coinslot sets this header, set CLIENT_IP_HEADER=x-forwarded-for; if not, leave it unset (clients can send the header themselves).",
    );
  };
}
