import { getCryptoKey } from "better-auth/crypto";
import { parseCookies } from "better-call";
import type { Pool } from "../db/pool.js";
import { queryConfig, statement } from "../db/statement.js";
import type { Auth } from "./better-auth.js";
import { authSchema } from "./better-auth.js";

/** The user columns the gate needs; the same fields Better Auth's `getSession` returns for them. */
export type SessionRow = { id: string; email: string; name: string; emailVerified: boolean };

/**
 * What the lean lookup found: a live session's user, no session at all (no cookie, or a cookie
 * whose signature does not verify, exactly where Better Auth's `getSession` answers null without
 * touching the database), or a case Better Auth must handle itself (see `lookUpSession`).
 */
export type SessionLookup =
  | { kind: "user"; user: SessionRow }
  | { kind: "none" }
  | { kind: "ask-better-auth"; reason: "no-live-row" | "refresh-due" | "stale-cache-cookie" };

// One indexed read (session.token is unique) joined to its user. Expiry is checked here so a dead
// session never leaves the database; Better Auth re-checks with its own clock on the slow path.
const sessionStatement = statement(
  "auth_session_user",
  `select u."id", u."email", u."name", u."emailVerified", s."expiresAt"
     from ${authSchema}."session" s join ${authSchema}."user" u on u."id" = s."userId"
    where s."token" = $1 and s."expiresAt" > now()`,
);

// better-call's signed-cookie format: `<value>.<base64 HMAC-SHA256>`; 32 bytes are 44 characters
// ending in one "=". These are its own checks, in its order (better-call/dist/context.mjs).
const signatureLength = 44;

async function verifiedValue(signed: string, key: CryptoKey): Promise<string | null> {
  const dot = signed.lastIndexOf(".");
  if (dot < 1) return null;
  const value = signed.substring(0, dot);
  const signature = signed.substring(dot + 1);
  if (signature.length !== signatureLength || !signature.endsWith("=")) return null;
  try {
    const bytes = Uint8Array.from(atob(signature), (character) => character.charCodeAt(0));
    const valid = await crypto.subtle.verify("HMAC", key, bytes, new TextEncoder().encode(value));
    return valid ? value : null;
  } catch {
    return null;
  }
}

type Settings = {
  key: CryptoKey;
  sessionCookie: string;
  cacheCookie: string;
  expiresInMs: number;
  updateAgeMs: number;
};

async function settingsOf(auth: Auth): Promise<Settings> {
  const context = await auth.$context;
  return {
    // Better Auth's own key derivation from its own resolved secret (AUTH_SECRET).
    key: await getCryptoKey(context.secret),
    sessionCookie: context.authCookies.sessionToken.name,
    cacheCookie: context.authCookies.sessionData.name,
    expiresInMs: context.sessionConfig.expiresIn * 1000,
    updateAgeMs: context.sessionConfig.updateAge * 1000,
  };
}

/**
 * Better Auth's `getSession` check without its endpoint machinery: the signed session cookie verified
 * with Better Auth's key, then one query for a live session and its user, on every request (no cache:
 * a sign-out, a deletion or a verified email applies at the next request). Whatever would make
 * `getSession` write — a session due for its sliding refresh, an expired row to delete, a stale
 * cookie-cache cookie to clear — is handed back as `ask-better-auth`, so Better Auth stays the only
 * code that changes sessions and cookies.
 *
 * @example
 * const lookUp = sessionLookup({ auth, pool });
 * const found = await lookUp(request.headers);
 */
export function sessionLookup(dependencies: { auth: Auth; pool: Pool }) {
  let settings: Promise<Settings> | undefined;
  return async (headers: Headers): Promise<SessionLookup> => {
    const cookieHeader = headers.get("cookie");
    if (!cookieHeader) return { kind: "none" };
    settings ??= settingsOf(dependencies.auth);
    const { key, sessionCookie, cacheCookie, expiresInMs, updateAgeMs } = await settings;
    const cookies = parseCookies(cookieHeader);
    for (const name of cookies.keys()) {
      if (name === cacheCookie || name.startsWith(`${cacheCookie}.`)) {
        return { kind: "ask-better-auth", reason: "stale-cache-cookie" };
      }
    }
    const signed = cookies.get(sessionCookie);
    if (!signed) return { kind: "none" };
    const token = await verifiedValue(signed, key);
    if (!token) return { kind: "none" };
    const { rows } = await dependencies.pool.query(queryConfig(sessionStatement, [token]));
    const row = rows[0] as (SessionRow & { expiresAt: Date }) | undefined;
    if (!row || row.expiresAt.getTime() <= Date.now())
      return { kind: "ask-better-auth", reason: "no-live-row" };
    // Better Auth's rule: extend once the session is `updateAge` old, i.e. when its expiry is closer
    // than `expiresIn - updateAge`. Skipping it would let active sessions expire a week after sign-in.
    if (row.expiresAt.getTime() - expiresInMs + updateAgeMs <= Date.now()) {
      return { kind: "ask-better-auth", reason: "refresh-due" };
    }
    const { id, email, name, emailVerified } = row;
    return { kind: "user", user: { id, email, name, emailVerified } };
  };
}
