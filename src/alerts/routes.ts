import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AuthedEnv } from "../auth/types.js";
import { countAttempt } from "../db/rate-limit.js";
import type { Dependencies } from "../dependencies.js";
import { AppError } from "../kit/errors.js";
import { parseInput, readJson } from "../kit/validation.js";
import { unwrap } from "../ledger/index.js";
import { maxThresholdCents, readLowBalanceSetting, setLowBalanceThreshold } from "./low-balance.js";
import { dismissNotice, listOpenNotices } from "./notices.js";

// A person changes a setting now and then; dozens a minute is a script.
export const settingChangeLimit = { max: 30, windowSeconds: 60 };
export const maxSpendLimitCents = 100_000_000;

const cents = (what: string, max: number) =>
  z
    .number({ error: `must be a whole number of cents, or null ${what}` })
    .int("must be a whole number of cents")
    .min(0, "must not be negative")
    .max(max, `must be at most ${max} cents`)
    .nullable();

const thresholdInput = z.object({ thresholdCents: cents("for the default", maxThresholdCents) });
export const spendLimitInput = z.object({ monthlyLimitCents: cents("for no limit", maxSpendLimitCents) });
const noticeId = z.string().regex(/^\d{1,18}$/, "must be a notice's id");

async function countSettingChange(context: Context<AuthedEnv>, pool: Dependencies["pool"]): Promise<void> {
  const attempt = await countAttempt(pool, {
    subject: context.get("user").id,
    action: "alert_settings",
    ...settingChangeLimit,
  });
  if (attempt.allowed) return;
  context.header("Retry-After", String(attempt.retryAfterSeconds));
  throw new AppError("RATE_LIMITED", `Too many changes. Try again in ${attempt.retryAfterSeconds} seconds.`, {
    retryAfterSeconds: attempt.retryAfterSeconds,
  });
}

/**
 * The signed-in person's alerts and limits: open notices (`GET /api/notices`, `POST
 * /api/notices/:id/dismiss`), the low-balance threshold (`GET`/`PUT /api/alerts/low-balance
 * {thresholdCents|null}`) and the monthly spend limit with this month's usage (`GET`/`PUT
 * /api/spend-limit {monthlyLimitCents|null}`). Behind the `/api/*` session gate: mount after authRoutes.
 *
 * @example
 * app.route("/", alertRoutes(dependencies));
 */
export function alertRoutes({ pool, ledger }: Pick<Dependencies, "pool" | "ledger">): Hono<AuthedEnv> {
  const routes = new Hono<AuthedEnv>();

  routes.get("/api/notices", async (context) =>
    context.json({ notices: await listOpenNotices(pool, context.get("user")) }),
  );

  routes.post("/api/notices/:id/dismiss", async (context) => {
    const id = parseInput(noticeId, context.req.param("id"));
    if (!(await dismissNotice(pool, { userId: context.get("user").id, id }))) {
      throw new AppError("NOT_FOUND", "You have no notice with this id. Reload the page.");
    }
    return context.json({ dismissed: true });
  });

  routes.get("/api/alerts/low-balance", async (context) =>
    context.json(await readLowBalanceSetting(pool, context.get("user").id)),
  );

  routes.put("/api/alerts/low-balance", async (context) => {
    const { thresholdCents } = parseInput(thresholdInput, await readJson(context));
    await countSettingChange(context, pool);
    return context.json(
      await setLowBalanceThreshold(pool, { userId: context.get("user").id, thresholdCents }),
    );
  });

  routes.get("/api/spend-limit", async (context) => {
    const summary = unwrap(await ledger.getCreditSummary(context.get("user").id));
    return context.json({
      monthlyLimitCents: summary.spendLimitCents,
      monthUsageCents: summary.monthUsageCents,
    });
  });

  routes.put("/api/spend-limit", async (context) => {
    const { monthlyLimitCents } = parseInput(spendLimitInput, await readJson(context));
    await countSettingChange(context, pool);
    const set = unwrap(await ledger.setSpendLimit({ userId: context.get("user").id, monthlyLimitCents }));
    return context.json({ monthlyLimitCents: set.spendLimitCents, monthUsageCents: set.monthUsageCents });
  });

  return routes;
}
