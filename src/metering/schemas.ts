import { z } from "zod";
import { maxPageSize } from "../ledger/index.js";
import { customerIdPattern } from "./customers.js";

// The metering API's shapes, once: the routes parse requests with these schemas (parseInput), and the
// OpenAPI document at /v1/openapi.json is generated from the very same objects, so the two cannot
// disagree. `.meta({ id })` names a shape as a reusable component of the document.

const maxCents = 100_000_000;
const cents = (minimum: number) =>
  z
    .number({ error: "must be a whole number of cents" })
    .int("must be a whole number of cents")
    .min(minimum, `must be at least ${minimum}`)
    .max(maxCents, `must be at most ${maxCents}`);
const description = z.string().max(500, "must be at most 500 characters");
const timestamp = z.string().meta({ format: "date-time" });

export const customerId = z
  .string({ error: "is required" })
  .regex(customerIdPattern, "must be 1 to 128 of A-Z a-z 0-9 _ . : @ -")
  .meta({ description: "Your app's own id for the user.", example: "u_42" });

export const holdId = z.string().meta({ description: "The id POST /v1/holds answered.", example: "123" });

/** `Idempotency-Key`: required on every call that spends; a retry sends the same one. */
export const idempotencyKeyHeader = z.string().min(1).max(255).meta({
  description:
    "1 to 255 characters, unique per operation; a retry sends the same key and gets the first answer.",
  example: "gen-7781",
});

export const customerInput = z
  .object({
    email: z.email({ error: "must be an email address" }).max(254),
    name: z.string().trim().min(1).max(200).optional(),
  })
  .meta({ id: "CustomerInput" });

export const holdInput = z
  .object({
    customer: customerId,
    amountCents: cents(1),
    description: description.optional(),
    ttlSeconds: z.number().int("must be whole seconds").min(1).max(86_400).optional(),
  })
  .meta({ id: "HoldInput" });

export const settleInput = z
  .object({ amountCents: cents(0), description: description.optional() })
  .meta({ id: "SettleInput" });

export const usageInput = z
  .object({ customer: customerId, amountCents: cents(1), description })
  .meta({ id: "UsageInput" });

export const checkoutInput = z
  .object({
    customer: customerId,
    amountCents: z
      .number({ error: "must be a whole number of cents" })
      .int("must be a whole number of cents"),
    returnUrl: z.string({ error: "is required" }).meta({
      description: "Where the buyer comes back to; its origin must be in CHECKOUT_RETURN_ORIGINS.",
    }),
  })
  .meta({ id: "CheckoutInput" });

export const pageInput = z.object({
  limit: z.coerce.number().int().min(1).max(maxPageSize).default(20),
  cursor: z
    .string()
    .regex(/^\d{1,18}$/, "must be the nextCursor of the previous page")
    .optional(),
});

export const customerView = z
  .object({
    id: z.string(),
    email: z.string(),
    balanceCents: z.number().int(),
    heldCents: z.number().int(),
    availableCents: z.number().int(),
  })
  .meta({ id: "Customer" });

export const entryPage = z
  .object({
    entries: z.array(
      z.object({
        id: z.string(),
        amountCents: z.number().int(),
        kind: z.enum([
          "signup_bonus",
          "purchase",
          "usage",
          "refund",
          "dispute",
          "dispute_reversal",
          "adjustment",
          "promo_code",
          "expiry",
        ]),
        description: z.string(),
        createdAt: timestamp,
        lots: z
          .array(
            z.object({
              lotId: z.string(),
              category: z.enum(["paid", "promo"]),
              amountCents: z.number().int(),
              expiresAt: timestamp.nullable(),
            }),
          )
          .describe("The lot a credit made, or the lots a debit took credit from (soonest-expiring first)."),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: "EntryPage" });

export const holdView = z
  .object({
    id: z.string(),
    amountCents: z.number().int(),
    expiresAt: timestamp,
    status: z.enum(["open", "settled", "released", "expired"]),
  })
  .meta({ id: "Hold" });

export const settlementView = z
  .object({ chargedCents: z.number().int(), releasedCents: z.number().int(), balanceCents: z.number().int() })
  .meta({ id: "Settlement" });

export const usageView = z
  .object({
    entryId: z.string(),
    chargedCents: z.number().int(),
    balanceCents: z.number().int(),
    availableCents: z.number().int(),
  })
  .meta({ id: "UsageCharge" });

export const checkoutView = z.object({ url: z.url() }).meta({ id: "Checkout" });

export const spendLimitInput = z
  .object({
    monthlyLimitCents: z
      .number({ error: "must be a whole number of cents, or null for no limit" })
      .int("must be a whole number of cents")
      .min(0, "must not be negative")
      .max(maxCents, `must be at most ${maxCents}`)
      .nullable()
      .meta({ description: "The most the customer may use in a calendar month (UTC); null: no limit." }),
  })
  .meta({ id: "SpendLimitInput" });

export const spendLimitView = z
  .object({
    customer: z.string(),
    monthlyLimitCents: z.number().int().nullable(),
    monthUsageCents: z
      .number()
      .int()
      .meta({ description: "Used this calendar month (UTC), held credit included." }),
  })
  .meta({ id: "SpendLimit" });
