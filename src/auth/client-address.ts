import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";

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
