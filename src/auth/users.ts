import { randomBytes } from "node:crypto";
import type { Pool, PoolClient } from "../db/pool.js";

type Queryable = Pick<Pool | PoolClient, "query">;

/**
 * The email Better Auth holds for `userId`, or null when no such person signed up. Other rooms ask
 * here instead of reading auth's tables. Pass the caller's transaction client when it holds one:
 * borrowing a second connection from the pool meanwhile can exhaust it.
 *
 * @example
 * const email = await findUserEmail(client, "user_123"); // "ada@example.com", or null
 */
export async function findUserEmail(database: Queryable, userId: string): Promise<string | null> {
  const result = await database.query<{ email: string }>(
    `select email from auth_coinslot."user" where id = $1`,
    [userId],
  );
  return result.rows[0]?.email ?? null;
}

/**
 * The Coinslot user with `email`, created when there is none: a password-less account (no row in
 * auth's `account` table, email not verified) that the person can later claim by signing in with
 * Google or resetting a password, and then sees the same credits. Safe under races: concurrent
 * calls with one email all get the one row. The email is lowercased, as Better Auth stores it.
 *
 * @example
 * const { id, created } = await findOrCreateUser(pool, { email: "ada@example.com", name: "Ada" });
 */
export async function findOrCreateUser(
  database: Queryable,
  input: { email: string; name: string },
): Promise<{ id: string; email: string; created: boolean }> {
  const email = input.email.trim().toLowerCase();
  const inserted = await database.query<{ id: string }>(
    `insert into auth_coinslot."user" (id, name, email, "emailVerified")
     values ($1, $2, $3, false)
     on conflict (email) do nothing
     returning id`,
    [randomBytes(16).toString("hex"), input.name, email],
  );
  const createdId = inserted.rows[0]?.id;
  if (createdId) return { id: createdId, email, created: true };
  const existing = await database.query<{ id: string }>(
    `select id from auth_coinslot."user" where email = $1`,
    [email],
  );
  const id = existing.rows[0]?.id;
  if (!id) throw new Error(`the user with email ${email} was neither created nor found`);
  return { id, email, created: false };
}
