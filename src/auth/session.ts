import type { MiddlewareHandler } from "hono";
import type { Config } from "../config.js";
import type { Pool } from "../db/pool.js";
import { AppError } from "../kit/errors.js";
import type { Ledger } from "../ledger/types.js";
import type { Logger } from "../logger.js";
import type { Auth } from "./better-auth.js";
import { sessionLookup } from "./session-lookup.js";
import { openCreditsAccount } from "./starter-credits.js";
import type { AuthedEnv, SessionUser } from "./types.js";

// Accounts are never deleted, so once one is known to exist this process need not ask again. Bounded
// so a flood of sign-ups cannot grow it without limit; forgetting only costs one idempotent query.
const knownAccountsLimit = 50_000;

type Dependencies = { auth: Auth; config: Config; ledger: Ledger; logger: Logger; pool: Pool };

/**
 * The person as routes see them. Admin rights need both: the email listed in ADMIN_EMAILS (any letter
 * case) and that email verified (Google vouches for it; for a password account an operator runs
 * `npm run cli -- verify-email`). Without the second, anyone could register an admin's address first.
 */
export function toSessionUser(
  user: { id: string; email: string; name: string; emailVerified: boolean },
  adminEmails: string[],
): SessionUser {
  const email = user.email.toLowerCase();
  const isAdmin = user.emailVerified === true && adminEmails.includes(email);
  return { id: user.id, email, name: user.name, emailVerified: user.emailVerified === true, isAdmin };
}

function accountEnsurer(dependencies: Dependencies) {
  // Keyed by verification too: the same person seen again once verified may be owed starter credits.
  const known = new Set<string>();
  return async (user: SessionUser): Promise<void> => {
    const key = `${user.id}:${user.emailVerified}`;
    if (known.has(key)) return;
    try {
      await openCreditsAccount(dependencies, user);
    } catch (error) {
      dependencies.logger.error({ userId: user.id, error }, "could not create the credits account");
      throw new AppError(
        "ACCOUNT_UNAVAILABLE",
        "Your credits account could not be opened. Try again, or contact support if it persists.",
      );
    }
    if (known.size >= knownAccountsLimit) known.clear();
    known.add(key);
  };
}

function renewCookie(response: Response, cookie: string): void {
  try {
    response.headers.append("set-cookie", cookie);
  } catch {
    // A response with immutable headers (Response.redirect, a proxied fetch) cannot carry it. The
    // session was still extended in the database; the cookie catches up at its next daily refresh.
  }
}

/**
 * The signed-in user of a request, or null. The common case is the lean lookup (a verified cookie and
 * one query); anything that would make Better Auth write goes through its own `getSession`, whose
 * refreshed session cookie, if any, is returned for the response.
 */
function sessionReader(dependencies: Dependencies) {
  const lookUp = sessionLookup(dependencies);
  return async (headers: Headers) => {
    const found = await lookUp(headers);
    if (found.kind === "user") return { user: found.user, cookies: [] };
    if (found.kind === "none") return { user: null, cookies: [] };
    const { headers: answered, response } = await dependencies.auth.api.getSession({
      headers,
      returnHeaders: true,
    });
    return { user: response?.user ?? null, cookies: answered.getSetCookie() };
  };
}

/**
 * Lets a request through only with a live session, and puts the person in `context.get("user")`.
 * The first signed-in request of a person creates their credits account with the starter credits
 * (exactly once, however many first requests race). A session Better Auth refreshes on the way
 * passes its new cookie on to the response.
 *
 * @example
 * app.use("/api/*", requireUser({ auth, config, ledger, logger, pool }));
 */
export function requireUser(dependencies: Dependencies): MiddlewareHandler<AuthedEnv> {
  const ensureAccount = accountEnsurer(dependencies);
  const readSession = sessionReader(dependencies);
  return async (context, next) => {
    const session = await readSession(context.req.raw.headers);
    if (!session.user) {
      throw new AppError("UNAUTHENTICATED", "Sign in first, then send the request again.");
    }
    const user = toSessionUser(session.user, dependencies.config.adminEmails);
    await ensureAccount(user);
    context.set("user", user);
    await next();
    for (const cookie of session.cookies) renewCookie(context.res, cookie);
  };
}
