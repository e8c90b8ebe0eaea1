import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { type ErrorCode, errorStatus } from "../kit/error-codes.js";
import * as schemas from "./schemas.js";

// The metering API as an OpenAPI 3.1 document: one route definition per /v1 route, made of the
// schemas the routes parse with. The routes keep their own parsing (parseInput) so every answer, its
// order of checks and its messages stay what clients already rely on; this file only describes them.

/** `{"error":{"code","message",...details}}` where `code` is one of `codes`, all of one HTTP status. */
function errorAnswer(codes: ErrorCode[]) {
  const error = z.looseObject({
    code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
    message: z.string().meta({ description: "What went wrong and what to do next." }),
  });
  return {
    description: codes.join(", "),
    content: { "application/json": { schema: z.object({ error }) } },
  };
}

/** The error answers of a route: the codes it names plus those every /v1 route can answer, by status. */
function errors(codes: ErrorCode[], options: { body: boolean }) {
  const every: ErrorCode[] = ["INVALID_SERVICE_KEY", "RATE_LIMITED", "INTERNAL", "DATABASE_UNAVAILABLE"];
  const all = [...codes, ...every, ...(options.body ? (["PAYLOAD_TOO_LARGE"] as const) : [])];
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of all) byStatus.set(errorStatus[code], [...(byStatus.get(errorStatus[code]) ?? []), code]);
  return Object.fromEntries([...byStatus].map(([status, statusCodes]) => [status, errorAnswer(statusCodes)]));
}

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const body = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});
const security = [{ serviceKey: [] }];
const spendHeaders = z.object({ "Idempotency-Key": schemas.idempotencyKeyHeader });
const readBody: ErrorCode[] = ["INVALID_JSON", "INVALID_REQUEST"];

/** Every /v1 route, keyed by the name the SDK and the tests use. */
export const meteringApi = {
  putCustomer: createRoute({
    method: "put",
    path: "/v1/customers/{id}",
    summary: "Create the customer as they connect, or answer the existing one",
    description:
      "201 the first time, with the starter credits exactly once however many calls race; 200 after.",
    security,
    request: { params: z.object({ id: schemas.customerId }), body: body(schemas.customerInput) },
    responses: {
      200: json(schemas.customerView, "The existing customer"),
      201: json(schemas.customerView, "The customer, just created"),
      ...errors([...readBody, "CUSTOMER_NOT_FOUND", "CUSTOMER_CONFLICT"], { body: true }),
    },
  }),
  getCustomer: createRoute({
    method: "get",
    path: "/v1/customers/{id}",
    summary: "The customer's balance",
    security,
    request: { params: z.object({ id: schemas.customerId }) },
    responses: {
      200: json(schemas.customerView, "The customer"),
      ...errors(["CUSTOMER_NOT_FOUND"], { body: false }),
    },
  }),
  listEntries: createRoute({
    method: "get",
    path: "/v1/customers/{id}/entries",
    summary: "The customer's ledger, newest first",
    security,
    request: { params: z.object({ id: schemas.customerId }), query: schemas.pageInput },
    responses: {
      200: json(schemas.entryPage, "One page; pass nextCursor as cursor for the next"),
      ...errors(["INVALID_REQUEST", "CUSTOMER_NOT_FOUND"], { body: false }),
    },
  }),
  setSpendLimit: createRoute({
    method: "put",
    path: "/v1/customers/{id}/spend-limit",
    summary: "Cap what the customer may use in a calendar month",
    description:
      "A hold or usage that would take this month's usage (UTC) past the limit is refused with 402 SPEND_LIMIT_REACHED. null removes the limit.",
    security,
    request: { params: z.object({ id: schemas.customerId }), body: body(schemas.spendLimitInput) },
    responses: {
      200: json(schemas.spendLimitView, "The limit now, with this month's usage"),
      ...errors([...readBody, "CUSTOMER_NOT_FOUND"], { body: true }),
    },
  }),
  createHold: createRoute({
    method: "post",
    path: "/v1/holds",
    summary: "Reserve the most a model call can cost",
    description:
      "Settle the real price after the call, or release it; an unsettled hold is released after ttlSeconds.",
    security,
    request: { headers: spendHeaders, body: body(schemas.holdInput) },
    responses: {
      200: json(schemas.holdView, "A replay: the hold this Idempotency-Key placed"),
      201: json(schemas.holdView, "The hold"),
      ...errors(
        [
          "INVALID_IDEMPOTENCY_KEY",
          ...readBody,
          "INVALID_AMOUNT",
          "INSUFFICIENT_CREDITS",
          "SPEND_LIMIT_REACHED",
          "CUSTOMER_NOT_FOUND",
          "IDEMPOTENCY_KEY_REUSED",
        ],
        { body: true },
      ),
    },
  }),
  settleHold: createRoute({
    method: "post",
    path: "/v1/holds/{id}/settle",
    summary: "Charge the real price, at most the held amount; the rest is freed",
    description: "Once: repeating the same settle answers the first result; anything else is HOLD_NOT_OPEN.",
    security,
    request: { params: z.object({ id: schemas.holdId }), body: body(schemas.settleInput) },
    responses: {
      200: json(schemas.settlementView, "The settlement"),
      ...errors([...readBody, "INVALID_AMOUNT", "HOLD_NOT_FOUND", "HOLD_NOT_OPEN"], { body: true }),
    },
  }),
  releaseHold: createRoute({
    method: "post",
    path: "/v1/holds/{id}/release",
    summary: "Free the whole hold, charging nothing",
    security,
    request: { params: z.object({ id: schemas.holdId }) },
    responses: {
      200: json(schemas.settlementView, "The release"),
      ...errors(["HOLD_NOT_FOUND", "HOLD_NOT_OPEN"], { body: false }),
    },
  }),
  chargeUsage: createRoute({
    method: "post",
    path: "/v1/usage",
    summary: "Charge a price known up front",
    security,
    request: { headers: spendHeaders, body: body(schemas.usageInput) },
    responses: {
      200: json(schemas.usageView, "A replay: the charge this Idempotency-Key made"),
      201: json(schemas.usageView, "The charge"),
      ...errors(
        [
          "INVALID_IDEMPOTENCY_KEY",
          ...readBody,
          "INVALID_AMOUNT",
          "INSUFFICIENT_CREDITS",
          "SPEND_LIMIT_REACHED",
          "CUSTOMER_NOT_FOUND",
          "IDEMPOTENCY_KEY_REUSED",
        ],
        { body: true },
      ),
    },
  }),
  createCheckout: createRoute({
    method: "post",
    path: "/v1/checkout",
    summary: "Where to send the customer to buy credits",
    description: "Optional Idempotency-Key: a retry with the same key and arguments opens the same session.",
    security,
    request: { headers: spendHeaders.partial(), body: body(schemas.checkoutInput) },
    responses: {
      201: json(schemas.checkoutView, "Send the customer to url"),
      ...errors(
        [
          ...readBody,
          "INVALID_IDEMPOTENCY_KEY",
          "INVALID_AMOUNT",
          "RETURN_URL_NOT_ALLOWED",
          "CUSTOMER_NOT_FOUND",
          "CHECKOUT_NOT_CONFIGURED",
          "STRIPE_UNAVAILABLE",
        ],
        { body: true },
      ),
    },
  }),
};

export type MeteringRouteName = keyof typeof meteringApi;

let document: ReturnType<OpenAPIHono["getOpenAPI31Document"]> | undefined;

/** The OpenAPI 3.1 document of the metering API, built once per process (it depends on no setting). */
export function meteringApiDocument() {
  if (document) return document;
  const api = new OpenAPIHono();
  api.openAPIRegistry.registerComponent("securitySchemes", "serviceKey", {
    type: "http",
    scheme: "bearer",
    description:
      'A service key (csk_live_... or csk_test_...): `npm run cli -- service-key create --name "my app"`.',
  });
  for (const route of Object.values(meteringApi)) api.openAPIRegistry.registerPath(route);
  document = api.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Coinslot metering API",
      version: "1.0.0",
      description:
        'Put Coinslot\'s credits in front of your own AI feature, from your backend: customers, holds, usage, checkout. Every error answers `{"error":{"code","message",...details}}`.',
    },
  });
  return document;
}
