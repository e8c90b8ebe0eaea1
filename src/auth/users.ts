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
