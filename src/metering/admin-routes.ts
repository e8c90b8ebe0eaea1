import { Hono } from "hono";
import { z } from "zod";
import { requireAdmin } from "../auth/require-admin.js";
import type { AuthedEnv } from "../auth/types.js";
import type { Dependencies } from "../dependencies.js";
import { AppError } from "../kit/errors.js";
import { parseInput, readJson } from "../kit/validation.js";
import { createServiceKey, listServiceKeys, revokeServiceKey } from "./keys.js";

const keyInput = z.object({
  name: z
    .string({ error: "is required" })
    .trim()
    .min(1, "must not be empty")
    .max(100, "must be at most 100 characters"),
});

/**
 * The admin's service keys: list them, make one (its secret is in that answer only), revoke one.
 * Behind the `/api/*` session gate and origin check, and `requireAdmin`.
 *
 * @example
 * app.route("/api", serviceKeyAdminRoutes(dependencies));
 */
export function serviceKeyAdminRoutes({
  pool,
  config,
}: Pick<Dependencies, "pool" | "config">): Hono<AuthedEnv> {
  const routes = new Hono<AuthedEnv>();
  routes.use("/admin/service-keys", requireAdmin);
  routes.use("/admin/service-keys/*", requireAdmin);

  routes.get("/admin/service-keys", async (context) => context.json({ keys: await listServiceKeys(pool) }));

  routes.post("/admin/service-keys", async (context) => {
    const { name } = parseInput(keyInput, await readJson(context));
    const { key, secret } = await createServiceKey(pool, {
      name,
      production: config.nodeEnv === "production",
    });
    return context.json({ key, secret }, 201);
  });

  routes.post("/admin/service-keys/:id/revoke", async (context) => {
    const key = await revokeServiceKey(pool, context.req.param("id"));
    if (!key)
      throw new AppError(
        "SERVICE_KEY_NOT_FOUND",
        `No service key has the id or prefix "${context.req.param("id")}".`,
      );
    return context.json({ key });
  });

  return routes;
}
