import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Coinslot, createCoinslot } from "../sdk/src/index.js";
import { type MeteringServer, startMeteringServer } from "./support/metering.js";

// The TypeScript client in sdk/ against the real server: its checked-in openapi.json and generated
// types are what the server serves (drift fails here), and the README's flow works end to end.

const sdk = resolve(import.meta.dirname, "../sdk");
let metering: MeteringServer;
let coinslot: Coinslot;

beforeAll(async () => {
  metering = await startMeteringServer({ NEW_USER_CREDITS_CENTS: "50" });
  coinslot = createCoinslot({ baseUrl: metering.url, serviceKey: metering.secret });
});
afterAll(() => metering.close());

describe("sdk/ stays in step with the server", () => {
  it("sdk/openapi.json is the document GET /v1/openapi.json serves (else: cd sdk && npm run spec)", async () => {
    const served = await (await fetch(`${metering.url}/v1/openapi.json`)).json();
    expect(JSON.parse(readFileSync(join(sdk, "openapi.json"), "utf8"))).toEqual(served);
  });

  it("sdk/src/schema.d.ts is what openapi-typescript makes of it (else: cd sdk && npm run generate)", () => {
    const output = join(mkdtempSync(join(tmpdir(), "coinslot-sdk-")), "schema.d.ts");
    const cli = resolve(import.meta.dirname, "../node_modules/openapi-typescript/bin/cli.js");
    execFileSync(process.execPath, [cli, join(sdk, "openapi.json"), "--output", output], { stdio: "pipe" });
    expect(readFileSync(join(sdk, "src/schema.d.ts"), "utf8")).toBe(readFileSync(output, "utf8"));
  });
});

describe("createCoinslot", () => {
  it("runs the README's flow: customer, hold, call the model, settle; usage; checkout refused", async () => {
    const id = `sdk_${randomUUID()}`;
    const created = await coinslot.customers.upsert(id, { email: `${id}@example.com`, name: "Ada" });
    expect(created).toMatchObject({ status: 201, error: null, data: { id, balanceCents: 50 } });
    expect((await coinslot.customers.upsert(id, { email: `${id}@example.com` })).status).toBe(200);

    const idempotencyKey = `gen-${randomUUID()}`;
    const hold = await coinslot.holds.create({
      customer: id,
      amountCents: 20,
      description: "poem",
      idempotencyKey,
    });
    if (hold.error) throw new Error(hold.error.message);
    expect(hold.data).toMatchObject({ amountCents: 20, status: "open" });
    const replay = await coinslot.holds.create({
      customer: id,
      amountCents: 20,
      description: "poem",
      idempotencyKey,
    });
    expect(replay).toMatchObject({ status: 200, data: { id: hold.data.id } });

    const settled = await coinslot.holds.settle(hold.data.id, { amountCents: 13 });
    expect(settled.data).toEqual({ chargedCents: 13, releasedCents: 7, balanceCents: 37 });
    const again = await coinslot.holds.release(hold.data.id);
    expect(again.error).toMatchObject({ status: 409, code: "HOLD_NOT_OPEN" });

    const charged = await coinslot.usage.charge({
      customer: id,
      amountCents: 4,
      description: "one image",
      idempotencyKey: randomUUID(),
    });
    expect(charged.data).toMatchObject({ chargedCents: 4, balanceCents: 33, availableCents: 33 });

    const page = await coinslot.customers.entries(id, { limit: 2 });
    expect(page.data?.entries.map((entry) => entry.amountCents)).toEqual([-4, -13]);
    expect((await coinslot.customers.get(id)).data?.availableCents).toBe(33);

    const checkout = await coinslot.checkout.create({
      customer: id,
      amountCents: 300,
      returnUrl: "https://x.example/",
    });
    expect(checkout.error).toMatchObject({ status: 400, code: "RETURN_URL_NOT_ALLOWED" });
  });

  it("surfaces 402 INSUFFICIENT_CREDITS as a typed error value with its details", async () => {
    const id = `sdk_${randomUUID()}`;
    await coinslot.customers.upsert(id, { email: `${id}@example.com` });
    const hold = await coinslot.holds.create({
      customer: id,
      amountCents: 500,
      idempotencyKey: randomUUID(),
    });
    expect(hold.data).toBeNull();
    expect(hold.status).toBe(402);
    // `code` is the union the route documents: a misspelt code here would not compile.
    if (hold.error?.code !== "INSUFFICIENT_CREDITS") throw new Error(`expected 402, got ${hold.status}`);
    expect(hold.error).toMatchObject({ status: 402, neededCents: 500, availableCents: 50 });
    expect(hold.error.message).toEqual(expect.any(String));
  });

  it("sets a customer's monthly spend limit, past which usage is 402 SPEND_LIMIT_REACHED", async () => {
    const id = `sdk_${randomUUID()}`;
    await coinslot.customers.upsert(id, { email: `${id}@example.com` });
    const set = await coinslot.customers.setSpendLimit(id, { monthlyLimitCents: 10 });
    expect(set.error).toBeNull();
    const charge = (amountCents: number) =>
      coinslot.usage.charge({
        customer: id,
        amountCents,
        description: "image",
        idempotencyKey: randomUUID(),
      });
    expect((await charge(10)).error).toBeNull();
    const refused = await charge(1);
    expect(refused.error).toMatchObject({ status: 402, code: "SPEND_LIMIT_REACHED" });
    expect((await coinslot.customers.setSpendLimit(id, { monthlyLimitCents: null })).error).toBeNull();
    expect((await charge(1)).error).toBeNull();
  });

  it("says INVALID_SERVICE_KEY for a wrong key, and that the customer is missing", async () => {
    const stranger = createCoinslot({ baseUrl: `${metering.url}/`, serviceKey: "csk_test_wrong" });
    expect((await stranger.customers.get("anyone")).error).toMatchObject({
      status: 401,
      code: "INVALID_SERVICE_KEY",
    });
    expect((await coinslot.customers.get("nobody")).error).toMatchObject({
      status: 404,
      code: "CUSTOMER_NOT_FOUND",
    });
  });
});
