import { randomUUID } from "node:crypto";
import { validate } from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { type MeteringRouteName, meteringApi } from "../src/metering/openapi.js";
import { type MeteringServer, startMeteringServer } from "./support/metering.js";

// The metering API's description over real HTTP: /v1/openapi.json is a valid OpenAPI 3.1 document
// anyone may read, /docs browses it with assets served by Coinslot itself (no CDN), and every route
// answers as the document says: a documented status, with a body its response schema accepts.

let metering: MeteringServer;

beforeAll(async () => {
  metering = await startMeteringServer({
    NEW_USER_CREDITS_CENTS: "50",
    CHECKOUT_RETURN_ORIGINS: "https://app.example.com",
  });
});
afterAll(() => metering.close());

describe("GET /v1/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document, readable without a service key", async () => {
    const answer = await metering.call("GET", "/v1/openapi.json", { secret: null });
    expect(answer.status).toBe(200);
    expect(answer.body.openapi).toBe("3.1.0");
    const result = await validate(structuredClone(answer.body));
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.specification).toBe("OpenAPI");
  });

  it("documents every /v1 route, each behind the bearer service key", async () => {
    const { body } = await metering.call("GET", "/v1/openapi.json", { secret: null });
    const operations = Object.entries(body.paths).flatMap(([path, item]) =>
      Object.keys(item as object).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        "PUT /v1/customers/{id}",
        "GET /v1/customers/{id}",
        "GET /v1/customers/{id}/entries",
        "PUT /v1/customers/{id}/spend-limit",
        "POST /v1/holds",
        "POST /v1/holds/{id}/settle",
        "POST /v1/holds/{id}/release",
        "POST /v1/usage",
        "POST /v1/checkout",
      ].sort(),
    );
    expect(body.components.securitySchemes.serviceKey).toMatchObject({ type: "http", scheme: "bearer" });
    for (const item of Object.values(body.paths) as Record<
      string,
      { security: unknown; responses: object }
    >[]) {
      for (const operation of Object.values(item)) {
        expect(operation.security).toEqual([{ serviceKey: [] }]);
        expect(Object.keys(operation.responses)).toContain("401");
      }
    }
  });
});

describe("GET /docs", () => {
  it("serves a reference page whose scripts and styles all come from Coinslot itself", async () => {
    const page = await fetch(`${metering.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
    expect(assets.sort()).toEqual(["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"]);
    expect(html).toContain('"/v1/openapi.json"');
    for (const asset of assets) {
      const answer = await fetch(`${metering.url}${asset}`);
      expect(answer.status, asset).toBe(200);
      expect((await answer.arrayBuffer()).byteLength, asset).toBeGreaterThan(10_000);
    }
    expect((await fetch(`${metering.url}/docs/package.json`)).status).not.toBe(200);
  });
});

type Call = { method: string; path: string; body?: unknown; idempotencyKey?: string };

/** Calls a documented route and checks the answer against its definition: status, then body. */
// biome-ignore lint/suspicious/noExplicitAny: the caller reads the fields the schema just accepted.
async function expectDocumented(name: MeteringRouteName, call: Call, status: number): Promise<any> {
  const { method, path, ...options } = call;
  const answer = await metering.call(method, path, options);
  expect(answer.status, `${name} ${JSON.stringify(answer.body)}`).toBe(status);
  const route = meteringApi[name];
  expect(route.method.toUpperCase()).toBe(method);
  const documented = (route.responses as Record<number, { content?: Record<string, { schema: z.ZodType }> }>)[
    status
  ];
  expect(documented, `${name} does not document ${status}`).toBeDefined();
  const schema = documented?.content?.["application/json"]?.schema;
  expect(schema, `${name} ${status} has no body schema`).toBeDefined();
  const parsed = schema?.safeParse(answer.body);
  expect(parsed?.success ? [] : parsed?.error.issues, `${name} ${status}`).toEqual([]);
  return answer.body;
}

describe("every documented route answers as documented", () => {
  it("on its happy path and on an error", async () => {
    const id = `doc_${randomUUID()}`;
    const key = () => randomUUID();
    const covered = new Set<string>();
    const check = async (name: MeteringRouteName, call: Call, status: number) => {
      covered.add(`${name} ${status < 300 ? "success" : "error"}`);
      return expectDocumented(name, call, status);
    };

    await check(
      "putCustomer",
      { method: "PUT", path: `/v1/customers/${id}`, body: { email: `${id}@x.io` } },
      201,
    );
    await check(
      "putCustomer",
      { method: "PUT", path: `/v1/customers/${id}`, body: { email: `${id}@x.io` } },
      200,
    );
    await check("putCustomer", { method: "PUT", path: `/v1/customers/${id}`, body: { email: "nope" } }, 400);
    await check("getCustomer", { method: "GET", path: `/v1/customers/${id}` }, 200);
    await check("getCustomer", { method: "GET", path: "/v1/customers/nobody" }, 404);
    await check("listEntries", { method: "GET", path: `/v1/customers/${id}/entries?limit=5` }, 200);
    await check("listEntries", { method: "GET", path: `/v1/customers/${id}/entries?limit=0` }, 400);

    const limit = { method: "PUT", path: `/v1/customers/${id}/spend-limit` };
    await check("setSpendLimit", { ...limit, body: { monthlyLimitCents: 1_000 } }, 200);
    await check("setSpendLimit", { ...limit, body: { monthlyLimitCents: null } }, 200);
    await check("setSpendLimit", { ...limit, body: { monthlyLimitCents: -1 } }, 400);

    const holdBody = { customer: id, amountCents: 20, description: "poem" };
    const hold = await check(
      "createHold",
      { method: "POST", path: "/v1/holds", body: holdBody, idempotencyKey: key() },
      201,
    );
    const tooMuch = { customer: id, amountCents: 10_000 };
    const refused = await check(
      "createHold",
      { method: "POST", path: "/v1/holds", body: tooMuch, idempotencyKey: key() },
      402,
    );
    expect(refused.error).toMatchObject({ code: "INSUFFICIENT_CREDITS", neededCents: 10_000 });
    await check(
      "settleHold",
      { method: "POST", path: `/v1/holds/${hold.id}/settle`, body: { amountCents: 13 } },
      200,
    );
    await check(
      "settleHold",
      { method: "POST", path: "/v1/holds/999999999/settle", body: { amountCents: 1 } },
      404,
    );
    const second = await check(
      "createHold",
      { method: "POST", path: "/v1/holds", body: holdBody, idempotencyKey: key() },
      201,
    );
    await check("releaseHold", { method: "POST", path: `/v1/holds/${second.id}/release` }, 200);
    await check("releaseHold", { method: "POST", path: `/v1/holds/${hold.id}/release` }, 409);

    const usage = { customer: id, amountCents: 4, description: "one image" };
    await check(
      "chargeUsage",
      { method: "POST", path: "/v1/usage", body: usage, idempotencyKey: key() },
      201,
    );
    await check("chargeUsage", { method: "POST", path: "/v1/usage", body: usage }, 400);

    const buy = { customer: id, amountCents: 300, returnUrl: "https://app.example.com/credits" };
    await check("createCheckout", { method: "POST", path: "/v1/checkout", body: buy }, 201);
    const elsewhere = { ...buy, returnUrl: "https://evil.example/" };
    await check("createCheckout", { method: "POST", path: "/v1/checkout", body: elsewhere }, 400);

    const everyCase = Object.keys(meteringApi).flatMap((name) => [`${name} success`, `${name} error`]);
    expect([...covered].sort()).toEqual(everyCase.sort());
  });

  it("answers 401 before reading the request, as each route documents", async () => {
    for (const [name, route] of Object.entries(meteringApi)) {
      const path = route.path.replace("{id}", "x");
      const body = route.method === "get" ? {} : { body: {} };
      const answer = await metering.call(route.method.toUpperCase(), path, { secret: null, ...body });
      expect(answer.status, name).toBe(401);
      expect(answer.body.error.code, name).toBe("INVALID_SERVICE_KEY");
    }
  });
});
