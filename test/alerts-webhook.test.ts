import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setLowBalanceThreshold } from "../src/alerts/low-balance.js";
import { applyWebhookSettings } from "../src/webhooks/outbox.js";
import { type MeteringServer, startMeteringServer } from "./support/metering.js";

// For an app's customer the low-balance crossing also writes the balance.low webhook, at the same
// threshold as the person's own alert: LOW_BALANCE_ALERT_CENTS as the server wrote it, or their own.

const endpoint = "http://127.0.0.1:9/hooks";
let metering: MeteringServer;

async function newCustomer(): Promise<{ id: string; userId: string }> {
  const id = `alert_${randomUUID()}`;
  expect(
    (await metering.call("PUT", `/v1/customers/${id}`, { body: { email: `${id}@example.com` } })).status,
  ).toBe(201);
  const { rows } = await metering.test.database.pool.query(
    "select user_id from metering.customers where id = $1",
    [id],
  );
  return { id, userId: rows[0].user_id };
}

const use = (customer: string, amountCents: number) =>
  metering.call("POST", "/v1/usage", {
    body: { customer, amountCents, description: "test" },
    idempotencyKey: randomUUID(),
  });

async function lowEvents(customer: string) {
  const { rows } = await metering.test.database.pool.query(
    "select data from metering.webhook_outbox where customer_id = $1 and type = 'balance.low' order by id",
    [customer],
  );
  return rows.map((row) => row.data);
}

beforeAll(async () => {
  metering = await startMeteringServer({ NEW_USER_CREDITS_CENTS: "500", LOW_BALANCE_ALERT_CENTS: "200" });
  // What the deliverer does at start: the endpoints and the default threshold, for the triggers.
  await applyWebhookSettings(metering.test.database.pool, {
    endpointUrls: [endpoint],
    lowBalanceAlertCents: 200,
  });
});
afterAll(() => metering?.close());

describe("balance.low", () => {
  it("follows LOW_BALANCE_ALERT_CENTS as the server wrote it, with a notice beside it", async () => {
    const customer = await newCustomer();
    expect((await use(customer.id, 350)).status).toBe(201); // 150 < 200
    expect(await lowEvents(customer.id)).toEqual([
      expect.objectContaining({ thresholdCents: 200, availableCents: 150, customer: customer.id }),
    ]);
    const { rows } = await metering.test.database.pool.query(
      "select data from alerts.notices where user_id = $1",
      [customer.userId],
    );
    expect(rows.map((row) => row.data)).toEqual([{ availableCents: 150, thresholdCents: 200 }]);
  });

  it("follows the person's own threshold once they set one", async () => {
    const customer = await newCustomer();
    await setLowBalanceThreshold(metering.test.database.pool, {
      userId: customer.userId,
      thresholdCents: 450,
    });
    expect((await use(customer.id, 100)).status).toBe(201); // 400 < 450
    expect((await use(customer.id, 300)).status).toBe(201); // still below: nothing more
    expect(await lowEvents(customer.id)).toEqual([
      expect.objectContaining({ thresholdCents: 450, availableCents: 400 }),
    ]);
  });
});
