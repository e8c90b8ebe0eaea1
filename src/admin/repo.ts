import type { Pool } from "../db/pool.js";

export type AccountSummary = {
  userId: string;
  email: string;
  balanceCents: number;
  heldCents: number;
  createdAt: Date;
};

const searchLimit = 50;

/** Escapes LIKE wildcards so a search for "a_b" finds "a_b", not "axb". */
function literalPattern(query: string): string {
  return `%${query.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

/** Accounts whose email or user id contains `query` (all when empty), newest first, at most 50. */
export async function searchAccounts(pool: Pool, query: string): Promise<AccountSummary[]> {
  const result = await pool.query<AccountSummary>(
    `select user_id as "userId", email, balance_cents as "balanceCents", held_cents as "heldCents",
            created_at as "createdAt"
       from credits.accounts
      where $1 = '' or email ilike $2 or user_id = $1
      order by created_at desc, user_id
      limit ${searchLimit}`,
    [query, literalPattern(query)],
  );
  return result.rows;
}
