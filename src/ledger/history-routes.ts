import { Hono } from "hono";
import { z } from "zod";
import type { AuthedEnv } from "../auth/types.js";
import type { Pool } from "../db/pool.js";
import { withUser } from "../db/with-user.js";
import { parseInput } from "../http/validation.js";

const largestBigint = 2n ** 63n - 1n;

const pageInput = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .regex(/^\d{1,19}$/, "must be the nextCursor of the previous page")
    // Nineteen digits can still pass bigint's largest value, which PostgreSQL would refuse with a 500.
    .refine(
      (cursor) => !/^\d+$/.test(cursor) || BigInt(cursor) <= largestBigint,
      "must be the nextCursor of the previous page",
    )
    .optional(),
});

type Row = { id: string; amountCents: number; kind: string; description: string; createdAt: Date };

/**
 * `GET /api/ledger?limit=&cursor=`: the signed-in person's entries, newest first. It reads through
 * withUser, so row-level security, not this query's WHERE, is what keeps other people's rows out.
 */
export function historyRoutes(pool: Pool): Hono<AuthedEnv> {
  return new Hono<AuthedEnv>().get("/api/ledger", async (context) => {
    const { limit, cursor } = parseInput(pageInput, context.req.query());
    const user = context.get("user");
    const rows = await withUser(pool, user, async (client) => {
      const result = await client.query<Row>(
        `select id::text as id, amount_cents as "amountCents", kind, description, created_at as "createdAt"
           from credits.entries
          where user_id = $1 and ($2::bigint is null or id < $2::bigint)
          order by credits.entries.id desc
          limit $3`,
        [user.id, cursor ?? null, limit + 1],
      );
      return result.rows;
    });
    // One row more than asked tells whether another page exists without a count query.
    const entries = rows.slice(0, limit);
    const nextCursor = rows.length > limit ? (entries.at(-1)?.id ?? null) : null;
    return context.json({ entries, nextCursor });
  });
}
