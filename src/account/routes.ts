import { Hono } from "hono";
import { z } from "zod";
import type { AuthedEnv } from "../auth/types.js";
import { withUser } from "../db/with-user.js";
import type { Dependencies } from "../dependencies.js";
import { parseInput } from "../kit/validation.js";
import { findCreditSummary, maxPageSize, publicEntryPage, readEntryPage } from "../ledger/index.js";

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
 * The signed-in person's own account: `GET /api/me` (who they are, balance and held credit, the
 * credit that expires next, the spend limit and, while one is set, this month's usage) and
 * `GET /api/ledger?limit=&cursor=` (their entries, newest first, in the contract's shape). Both read
 * through withUser, so row-level security, not a WHERE clause, is what keeps other people's rows out.
 * Mounted after auth's gate, which puts `user` on the context.
 *
 * @example
 * app.route("/", accountRoutes(dependencies));
 */
export function accountRoutes({ pool }: Pick<Dependencies, "pool">): Hono<AuthedEnv> {
  const routes = new Hono<AuthedEnv>();

  routes.get("/api/me", async (context) => {
    const user = context.get("user");
    const summary = await withUser(pool, user, (client) =>
      findCreditSummary({ pool, client }, user.id, { monthUsage: false }),
    );
    return context.json({
      user,
      balanceCents: summary?.balanceCents ?? 0,
      heldCents: summary?.heldCents ?? 0,
      nextExpiry: summary?.nextExpiry ?? null,
      spendLimitCents: summary?.spendLimitCents ?? null,
      monthUsageCents: summary?.monthUsageCents ?? null,
    });
  });

  routes.get("/api/ledger", async (context) => {
    const { limit, cursor } = parseInput(pageInput, context.req.query());
    const user = context.get("user");
    const page = await withUser(pool, user, (client) =>
      readEntryPage({ pool, client }, { userId: user.id, limit, cursor }),
    );
    return context.json(publicEntryPage(page));
  });

  return routes;
}
