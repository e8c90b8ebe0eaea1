import { Hono } from "hono";
import { z } from "zod";
import type { AuthedEnv } from "../auth/types.js";
import { countAttempt } from "../db/rate-limit.js";
import type { Dependencies } from "../dependencies.js";
import { AppError } from "../kit/errors.js";
import { parseInput, readJson } from "../kit/validation.js";
import {
  createPersonalKey,
  listPersonalKeys,
  maxMonthlyLimitCents,
  revokePersonalKey,
} from "./personal-keys.js";

const wholeCents = "must be a whole number of cents";

const keyInput = z.object({
  name: z
    .string({ error: "is required" })
    .trim()
    .min(1, "must not be empty")
    .max(100, "must be at most 100 characters"),
  monthlyLimitCents: z
    .number({ error: `${wholeCents}, or null for no limit` })
    .int(wholeCents)
    .min(1, "must be at least 1 cent, or null for no limit")
    .max(maxMonthlyLimitCents, `must be at most ${maxMonthlyLimitCents} cents`)
    .nullable()
    .optional(),
});

// A person makes a key for a new script now and then; dozens an hour is a script making keys.
export const keyCreationLimit = { max: 20, windowSeconds: 60 * 60 };

/**
 * The signed-in person's own API keys (`cpk_...`) for the gateway: `GET /api/keys`, `POST /api/keys`
 * `{name, monthlyLimitCents?}` (the secret is in that answer only), `DELETE /api/keys/:id`. Behind
 * the `/api/*` session gate and origin check, so mount it after authRoutes.
 *
 * @example
 * app.route("/", personalKeyRoutes(dependencies));
 */
export function personalKeyRoutes({ pool }: Pick<Dependencies, "pool">): Hono<AuthedEnv> {
  const routes = new Hono<AuthedEnv>();

  routes.get("/api/keys", async (context) =>
    context.json({ keys: await listPersonalKeys(pool, context.get("user").id) }),
  );

  routes.post("/api/keys", async (context) => {
    const { name, monthlyLimitCents } = parseInput(keyInput, await readJson(context));
    const userId = context.get("user").id;
    // Counted once the request is valid, refused or not by the cap on live keys.
    const attempt = await countAttempt(pool, {
      subject: userId,
      action: "personal_key_create",
      ...keyCreationLimit,
    });
    if (!attempt.allowed) {
      context.header("Retry-After", String(attempt.retryAfterSeconds));
      throw new AppError(
        "RATE_LIMITED",
        `You created ${keyCreationLimit.max} API keys within the hour. Try again in ${Math.ceil(attempt.retryAfterSeconds / 60)} minutes.`,
        { retryAfterSeconds: attempt.retryAfterSeconds },
      );
    }
    const created = await createPersonalKey(pool, { userId, name, monthlyLimitCents });
    return context.json(created, 201);
  });

  routes.delete("/api/keys/:id", async (context) => {
    const id = context.req.param("id");
    const key = await revokePersonalKey(pool, { userId: context.get("user").id, id });
    if (!key)
      throw new AppError("KEY_NOT_FOUND", "You have no API key with this id. Reload the list of your keys.");
    return context.json({ key });
  });

  return routes;
}
