import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths };
export type Customer = components["schemas"]["Customer"];
export type EntryPage = components["schemas"]["EntryPage"];
export type Hold = components["schemas"]["Hold"];
export type Settlement = components["schemas"]["Settlement"];
export type UsageCharge = components["schemas"]["UsageCharge"];
export type Checkout = components["schemas"]["Checkout"];

/**
 * A refusal, as Coinslot answered it: the HTTP status, the stable `code` (one of those the route
 * documents, so a `switch` on it is checked) and the message that says what to do next, plus the
 * code's details (`neededCents` and `availableCents` with INSUFFICIENT_CREDITS, `retryAfterSeconds`
 * with RATE_LIMITED).
 */
export type CoinslotError<Code extends string = string> = {
  status: number;
  code: Code;
  message: string;
  [detail: string]: unknown;
};

/** Expected failures are values: exactly one of `data` and `error` is set. */
export type Outcome<Data, Code extends string> =
  | { data: Data; error: null; status: number }
  | { data: null; error: CoinslotError<Code>; status: number };

type Answer<Data, Body> = { data?: Data; error?: Body; response: Response };
type CodeOf<Body> = Body extends { error: { code: infer Code extends string } } ? Code : never;

async function outcome<Data, Body>(
  request: Promise<Answer<Data, Body>>,
): Promise<Outcome<Data, CodeOf<Body>>> {
  const { data, error, response } = await request;
  if (error === undefined) return { data: data as Data, error: null, status: response.status };
  const refusal = (error as { error?: { code?: unknown; message?: unknown } }).error;
  const code = typeof refusal?.code === "string" ? refusal.code : "UNEXPECTED_RESPONSE";
  const message = typeof refusal?.message === "string" ? refusal.message : `HTTP ${response.status}`;
  const details = { ...refusal, status: response.status, code, message };
  return { data: null, error: details as CoinslotError<CodeOf<Body>>, status: response.status };
}

export type CoinslotOptions = {
  /** Where Coinslot runs, such as `https://credits.example.com`. */
  baseUrl: string;
  /** A service key, `csk_live_...` or `csk_test_...`; keep it on your server. */
  serviceKey: string;
  /** Another fetch (tests, proxies); the global one by default. */
  fetch?: typeof fetch;
};

/**
 * A typed client of Coinslot's metering API. Every method answers `{ data, error, status }`; a
 * refusal such as 402 INSUFFICIENT_CREDITS is an `error` value, never an exception (only a network
 * failure throws). Calls that spend take the `idempotencyKey` a retry must repeat.
 *
 * @example
 * const coinslot = createCoinslot({ baseUrl: "http://localhost:3000", serviceKey: process.env.COINSLOT_KEY! });
 * await coinslot.customers.upsert("u_42", { email: "ada@example.com" });
 * const hold = await coinslot.holds.create({ customer: "u_42", amountCents: 20, idempotencyKey: "gen-7781" });
 * if (hold.error?.code === "INSUFFICIENT_CREDITS") console.log(`needs ${hold.error.neededCents} cents`);
 */
export function createCoinslot(options: CoinslotOptions) {
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    headers: { Authorization: `Bearer ${options.serviceKey}` },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const path = (id: string) => ({ path: { id } });

  return {
    customers: {
      /** Creates your user as they connect (status 201, with the starter credits once) or answers them (200). */
      upsert: (id: string, body: components["schemas"]["CustomerInput"]) =>
        outcome(client.PUT("/v1/customers/{id}", { params: path(id), body })),
      get: (id: string) => outcome(client.GET("/v1/customers/{id}", { params: path(id) })),
      /** One page of the customer's ledger, newest first; pass `nextCursor` as `cursor` for the next. */
      entries: (id: string, query: { limit?: number; cursor?: string } = {}) =>
        outcome(client.GET("/v1/customers/{id}/entries", { params: { ...path(id), query } })),
      /** Caps the customer's usage per calendar month (UTC); null removes the cap. Past it: 402 SPEND_LIMIT_REACHED. */
      setSpendLimit: (id: string, body: components["schemas"]["SpendLimitInput"]) =>
        outcome(client.PUT("/v1/customers/{id}/spend-limit", { params: path(id), body })),
    },
    holds: {
      /** Reserves the most a model call can cost: 201, a replay 200, or 402 INSUFFICIENT_CREDITS. */
      create: ({
        idempotencyKey,
        ...body
      }: components["schemas"]["HoldInput"] & { idempotencyKey: string }) =>
        outcome(
          client.POST("/v1/holds", { params: { header: { "Idempotency-Key": idempotencyKey } }, body }),
        ),
      /** Charges the real price (at most the held amount) and frees the rest; once. */
      settle: (holdId: string, body: components["schemas"]["SettleInput"]) =>
        outcome(client.POST("/v1/holds/{id}/settle", { params: path(holdId), body })),
      release: (holdId: string) => outcome(client.POST("/v1/holds/{id}/release", { params: path(holdId) })),
    },
    usage: {
      /** Charges a price known up front: 201, a replay 200, or 402 INSUFFICIENT_CREDITS. */
      charge: ({
        idempotencyKey,
        ...body
      }: components["schemas"]["UsageInput"] & { idempotencyKey: string }) =>
        outcome(
          client.POST("/v1/usage", { params: { header: { "Idempotency-Key": idempotencyKey } }, body }),
        ),
    },
    checkout: {
      /** Where to send the customer to buy credits; they come back to `returnUrl`. */
      create: ({
        idempotencyKey,
        ...body
      }: components["schemas"]["CheckoutInput"] & { idempotencyKey?: string }) =>
        outcome(
          client.POST("/v1/checkout", {
            params: { header: idempotencyKey === undefined ? {} : { "Idempotency-Key": idempotencyKey } },
            body,
          }),
        ),
    },
  };
}

export type Coinslot = ReturnType<typeof createCoinslot>;
