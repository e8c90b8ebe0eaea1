import { Hono } from "hono";
import { z } from "zod";
import { requireAdmin } from "../auth/require-admin.js";
import type { AuthedEnv } from "../auth/types.js";
import type { Dependencies } from "../dependencies.js";
import { parseInput, readJson } from "../kit/validation.js";
import { searchAccounts, unwrap } from "../ledger/index.js";

const maxAdjustmentCents = 100_000_000;

const adjustmentInput = z.object({
  amountCents: z
    .number({ error: "must be a whole number of cents" })
    .int("must be a whole number of cents")
    .refine((value) => value !== 0, "must not be 0")
    .refine(
      (value) => Math.abs(value) <= maxAdjustmentCents,
      `must be at most ${maxAdjustmentCents} either way`,
    ),
  reason: z.string({ error: "is required" }).trim().min(3, "must say why, in at least 3 characters").max(400),
  idempotencyKey: z.string({ error: "is required" }).trim().min(8, "must be at least 8 characters").max(200),
});

const pageInput = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().max(200).optional(),
});

/**
 * Admin routes: find accounts, read their ledger, and add or remove credits with a reason. Every
 * change goes through the ledger with the admin's idempotency key, so a double click changes once.
 */
export function adminRoutes(dependencies: Dependencies): Hono<AuthedEnv> {
  const { pool, ledger } = dependencies;
  const routes = new Hono<AuthedEnv>();
  routes.use("/admin/*", requireAdmin);

  routes.get("/admin/accounts", async (context) => {
    const query = (context.req.query("query") ?? "").trim().slice(0, 200);
    return context.json({ accounts: await searchAccounts({ pool }, query) });
  });

  routes.get("/admin/accounts/:userId/entries", async (context) => {
    const { limit, cursor } = parseInput(pageInput, context.req.query());
    const userId = context.req.param("userId");
    const page = unwrap(await ledger.listEntries({ userId, limit, cursor }));
    const balance = unwrap(await ledger.getBalance(userId));
    return context.json({ ...balance, ...page });
  });

  routes.post("/admin/accounts/:userId/adjustments", async (context) => {
    const admin = context.get("user");
    const input = parseInput(adjustmentInput, await readJson(context));
    const common = {
      userId: context.req.param("userId"),
      amountCents: Math.abs(input.amountCents),
      kind: "adjustment" as const,
      idempotencyKey: `admin:${input.idempotencyKey}`,
      reference: admin.id,
      description: `${input.reason} (by ${admin.email})`,
    };
    const change = unwrap(input.amountCents > 0 ? await ledger.grant(common) : await ledger.spend(common));
    return context.json(
      { entry: change.entry, balance: change.balance, replayed: change.replayed },
      change.replayed ? 200 : 201,
    );
  });

  return routes;
}
