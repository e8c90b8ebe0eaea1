import { fail } from "./results.js";
import type { Result } from "./types.js";

/** Largest amount one operation may move, in cents (one million dollars). */
export const maxAmountCents = 100_000_000;
export const maxKeyLength = 255;
export const maxReferenceLength = 255;
export const maxDescriptionLength = 500;
export const maxTtlSeconds = 86_400;

type Problem = Result<never> | null;

/** Whole cents from `minCents` to 100,000,000; anything else (string, float, NaN, ...) is refused. */
export function checkAmount(amountCents: unknown, minCents = 1, maxCents = maxAmountCents): Problem {
  if (typeof amountCents !== "number" || !Number.isSafeInteger(amountCents)) {
    return fail("INVALID_AMOUNT", `Amounts are whole cents (an integer), got ${describe(amountCents)}.`);
  }
  if (amountCents < minCents || amountCents > maxCents) {
    return fail(
      "INVALID_AMOUNT",
      `The amount must be from ${minCents} to ${maxCents} cents, got ${amountCents}.`,
    );
  }
  return null;
}

export function checkText(name: string, value: unknown, options: { min: number; max: number }): Problem {
  if (typeof value !== "string" || value.length < options.min || value.length > options.max) {
    return fail("INVALID_ARGUMENT", `${name} must be text of ${options.min} to ${options.max} characters.`);
  }
  return null;
}

export function checkUserId(userId: unknown): Problem {
  return checkText("userId", userId, { min: 1, max: 255 });
}

export function checkKey(idempotencyKey: unknown): Problem {
  return checkText("idempotencyKey", idempotencyKey, { min: 1, max: maxKeyLength });
}

export function checkOptionalText(name: string, value: unknown, max: number): Problem {
  return value === undefined ? null : checkText(name, value, { min: 0, max });
}

/** The checks every change shares: who, how much, under which key, with what words. */
export function checkChange(input: {
  userId: unknown;
  amountCents: unknown;
  idempotencyKey: unknown;
  reference?: unknown;
  description?: unknown;
}): Problem {
  return (
    checkUserId(input.userId) ??
    checkAmount(input.amountCents) ??
    checkKey(input.idempotencyKey) ??
    checkOptionalText("reference", input.reference, maxReferenceLength) ??
    checkOptionalText("description", input.description, maxDescriptionLength)
  );
}

/** Ids (hold ids, cursors) are positive bigint values written as decimal strings. */
export function isIdText(value: unknown): value is string {
  return typeof value === "string" && /^[1-9]\d{0,17}$/.test(value);
}

export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): Problem {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return null;
  return fail("INVALID_ARGUMENT", `${name} must be one of ${allowed.join(", ")}.`);
}

function describe(value: unknown): string {
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return String(value);
}
