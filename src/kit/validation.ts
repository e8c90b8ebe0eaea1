import type { Context } from "hono";
import type { z } from "zod";
import { AppError } from "./errors.js";

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.join(".") || "body";
  return `${field}: ${issue.message}`;
}

/**
 * Parses `value` with `schema`, or throws a 400 naming each field that is wrong.
 *
 * @example
 * const { amountCents } = parseInput(z.object({ amountCents: z.number().int() }), await readJson(context));
 */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map(describeIssue);
  throw new AppError("INVALID_REQUEST", `Fix these fields and send again: ${problems.join("; ")}.`, {
    fields: result.error.issues.map((issue) => issue.path.join(".") || "body"),
  });
}

/** The request's JSON body, or a 400 that says the body must be JSON. */
export async function readJson(context: Context): Promise<unknown> {
  try {
    return await context.req.json();
  } catch {
    throw new AppError(
      "INVALID_JSON",
      "The request body must be valid JSON with Content-Type: application/json.",
    );
  }
}

/**
 * Parses a request body already read as text (a caller that also needs the raw text: to forward it,
 * or to hash it for an Idempotency-Key), or throws 400 INVALID_JSON naming the body.
 *
 * @example
 * const body = parseInput(schema, parseJsonText(await context.req.text()));
 */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError(
      "INVALID_JSON",
      "The request body must be valid JSON with Content-Type: application/json.",
      { fields: ["body"] },
    );
  }
}
