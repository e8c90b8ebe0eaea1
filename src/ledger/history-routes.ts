import { Hono } from "hono";
import { z } from "zod";
import type { AuthedEnv } from "../auth/types.js";
import type { Pool } from "../db/pool.js";
import { withUser } from "../db/with-user.js";
import { parseInput } from "../http/validation.js";
import { maxPageSize } from "./accounts.js";
import { readEntryPage } from "./reads.js";

const largestBigint = 2n ** 63n - 1n;

const pageInput = z.object({
  limit: z.coerce.number().int().min(1).max(maxPageSize).default(20),
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

/**
 * `GET /api/ledger?limit=&cursor=`: the signed-in person's entries, newest first, in the contract's
 * shape. It reads through withUser, so row-level security, not the pager's WHERE, is what keeps other
 * people's rows out.
 */
export function historyRoutes(pool: Pool): Hono<AuthedEnv> {
  return new Hono<AuthedEnv>().get("/api/ledger", async (context) => {
    const { limit, cursor } = parseInput(pageInput, context.req.query());
    const user = context.get("user");
    const page = await withUser(pool, user, (client) =>
      readEntryPage({ pool, client }, { userId: user.id, limit, cursor }),
    );
    const entries = page.entries.map(({ id, amountCents, kind, description, createdAt }) => ({
      id,
      amountCents,
      kind,
      description,
      createdAt,
    }));
    return context.json({ entries, nextCursor: page.nextCursor });
  });
}
