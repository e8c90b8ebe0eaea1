import { Hono } from "hono";
import { z } from "zod";
import { requireAdmin } from "../auth/require-admin.js";
import type { AuthedEnv } from "../auth/types.js";
import type { Dependencies } from "../dependencies.js";
import { parseInput } from "../kit/validation.js";
import { listDeliveries } from "./outbox.js";

const listInput = z.object({
  limit: z.coerce.number().int().min(1).max(200).optional(),
});

/**
 * The admin's view of outgoing webhooks: the configured endpoints (never their secrets; those are
 * printed by `npm run cli -- webhook-secret <url>`) and the newest deliveries with their attempts.
 * Endpoints come from WEBHOOK_ENDPOINTS only: no route adds one, so nobody signed in can point the
 * server at a URL of their choosing.
 *
 * @example
 * app.route("/api", webhookAdminRoutes(dependencies));
 */
export function webhookAdminRoutes({ pool, config }: Pick<Dependencies, "pool" | "config">): Hono<AuthedEnv> {
  const routes = new Hono<AuthedEnv>();
  routes.use("/admin/webhook-deliveries", requireAdmin);

  routes.get("/admin/webhook-deliveries", async (context) => {
    const { limit } = parseInput(listInput, context.req.query());
    const deliveries = await listDeliveries(pool, limit ?? 50);
    return context.json({ endpoints: config.webhookEndpoints, deliveries });
  });

  return routes;
}
