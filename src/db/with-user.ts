import type { Pool, PoolClient } from "./pool.js";
import { transaction } from "./pool.js";

export type RequestUser = { id: string; email: string };

/**
 * Runs `work` as the signed-in user, the way PostgREST and Supabase do: in a transaction with
 * `SET LOCAL ROLE authenticated` and the user's `request.jwt.claims`, so row-level security decides
 * what the queries see. Both settings are LOCAL, so they vanish with the transaction and a pooled
 * connection never carries one user's identity into another request.
 *
 * @example
 * const rows = await withUser(pool, user, (client) => client.query("select * from credits.entries"));
 */
export function withUser<T>(
  pool: Pool,
  user: RequestUser,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const claims = JSON.stringify({ sub: user.id, email: user.email, role: "authenticated" });
  return transaction(pool, async (client) => {
    await client.query(
      "select set_config('request.jwt.claims', $1, true), set_config('role', 'authenticated', true)",
      [claims],
    );
    return work(client);
  });
}
