import { Hono } from "hono";
import { z } from "zod";
import { requireAdmin } from "../auth/require-admin.js";
import type { AuthedEnv } from "../auth/types.js";
import { countAttempt } from "../db/rate-limit.js";
import type { Dependencies } from "../dependencies.js";
import { AppError } from "../kit/errors.js";
import { parseInput, readJson } from "../kit/validation.js";
import { disableCode, insertCode, listCodes } from "./codes.js";
import { redeemCode } from "./redeem.js";

// Ten tries in a quarter of an hour covers typos; guessing codes at that pace gets nowhere.
export const redeemAttemptLimit = { max: 10, windowSeconds: 15 * 60 };
export const maxPromoAmountCents = 100_000;
const maxExpiryMs = 10 * 365 * 24 * 60 * 60 * 1000;

const redeemInput = z.object({
  code: z.string({ error: "is required" }).trim().min(1, "must not be empty").max(64, "is too long"),
});

const wholeNumber = (what: string, min: number, max: number) =>
  z
    .number({ error: `must be a whole number of ${what}` })
    .int(`must be a whole number of ${what}`)
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

const codeInput = z.object({
  code: z
    .string({ error: "is required" })
    .trim()
    .regex(/^[A-Za-z0-9_-]{3,40}$/, "must be 3 to 40 letters, digits, - or _")
    .transform((code) => code.toUpperCase()),
  amountCents: wholeNumber("cents", 1, maxPromoAmountCents),
  expiresAt: z.iso
    .datetime({ offset: true, error: "must be a date and time such as 2027-01-31T23:59:59Z" })
    .transform((value) => new Date(value))
    .refine((date) => date.getTime() > Date.now(), "must be in the future")
    .refine((date) => date.getTime() < Date.now() + maxExpiryMs, "must be within ten years")
    .nullish(),
  maxRedemptions: wholeNumber("redemptions", 1, 1_000_000).nullish(),
  creditDays: wholeNumber("days", 1, 36_500).nullish(),
});

const codeId = z.string().regex(/^\d{1,18}$/, "must be a code's id");

/**
 * Promo codes. A signed-in person redeems one at `POST /api/promo-codes/redeem {code}` (rate-limited
 * per person, since codes can be guessed); admins list, create and disable them under
 * `/api/admin/promo-codes`. Mount under `/api`'s session gate (after authRoutes), at the root.
 *
 * @example
 * app.route("/", promoRoutes(dependencies));
 */
export function promoRoutes(dependencies: Dependencies): Hono<AuthedEnv> {
  const { pool } = dependencies;
  const routes = new Hono<AuthedEnv>();
  routes.use("/api/admin/promo-codes", requireAdmin);
  routes.use("/api/admin/promo-codes/*", requireAdmin);

  routes.post("/api/promo-codes/redeem", async (context) => {
    const user = context.get("user");
    const { code } = parseInput(redeemInput, await readJson(context));
    const attempt = await countAttempt(pool, {
      subject: user.id,
      action: "promo_redeem",
      ...redeemAttemptLimit,
    });
    if (!attempt.allowed) {
      context.header("Retry-After", String(attempt.retryAfterSeconds));
      throw new AppError(
        "RATE_LIMITED",
        `Too many codes tried. Try again in ${Math.ceil(attempt.retryAfterSeconds / 60)} minutes.`,
        { retryAfterSeconds: attempt.retryAfterSeconds },
      );
    }
    const redemption = await redeemCode(dependencies, { userId: user.id, email: user.email, typed: code });
    return context.json({ redemption }, 201);
  });

  routes.get("/api/admin/promo-codes", async (context) => context.json({ codes: await listCodes(pool) }));

  routes.post("/api/admin/promo-codes", async (context) => {
    const input = parseInput(codeInput, await readJson(context));
    const created = await insertCode(pool, {
      code: input.code,
      amountCents: input.amountCents,
      expiresAt: input.expiresAt ?? null,
      maxRedemptions: input.maxRedemptions ?? null,
      creditDays: input.creditDays ?? null,
      createdBy: context.get("user").email,
    });
    if (!created) {
      throw new AppError("PROMO_CODE_EXISTS", `The code ${input.code} exists already. Choose another.`);
    }
    return context.json({ code: created }, 201);
  });

  routes.post("/api/admin/promo-codes/:id/disable", async (context) => {
    const id = parseInput(codeId, context.req.param("id"));
    const disabled = await disableCode(pool, id);
    if (!disabled)
      throw new AppError("PROMO_CODE_NOT_FOUND", "There is no code with this id. Reload the list.");
    return context.json({ code: disabled });
  });

  return routes;
}
