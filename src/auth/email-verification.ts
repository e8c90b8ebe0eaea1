import type { Pool } from "../db/pool.js";

/** What marking an email verified found: done now, done before, or no such account. */
export type MarkVerifiedOutcome = "verified" | "already-verified" | "unknown-email";

/**
 * Marks the Better Auth account with this email (any letter case) as verified: what an operator does
 * for a password account whose owner they know, since Coinslot sends no verification mail yet. It
 * takes effect at the next request of every session of that person: sessions read the user row from
 * the database on each request (no cookie cache).
 *
 * @example
 * await markEmailVerified(pool, "Boss@Example.com"); // "verified"
 */
export async function markEmailVerified(pool: Pool, email: string): Promise<MarkVerifiedOutcome> {
  // One statement, so two operators at once cannot both report "verified" for the same account.
  const result = await pool.query<{ was_verified: boolean }>(
    `with target as (
       select id, "emailVerified" as was_verified from auth_coinslot."user"
        where lower(email) = lower($1) for update
     ), marked as (
       update auth_coinslot."user" set "emailVerified" = true, "updatedAt" = now()
        where id in (select id from target where not was_verified)
     )
     select was_verified from target`,
    [email.trim()],
  );
  const row = result.rows[0];
  if (!row) return "unknown-email";
  return row.was_verified ? "already-verified" : "verified";
}

/**
 * Which of `emails` (compared in any letter case) have an account whose email is not verified, so
 * `npm run doctor` can say why an admin listed in ADMIN_EMAILS gets 403.
 */
export async function unverifiedEmails(pool: Pool, emails: string[]): Promise<string[]> {
  if (emails.length === 0) return [];
  const result = await pool.query<{ email: string }>(
    `select email from auth_coinslot."user"
      where lower(email) = any($1) and not "emailVerified"
      order by email`,
    [emails.map((email) => email.toLowerCase())],
  );
  return result.rows.map((row) => row.email);
}
