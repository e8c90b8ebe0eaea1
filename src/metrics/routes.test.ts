import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.js";
import { loadConfig } from "../config.js";
import { createApp } from "../http/app.js";
import { createLogger } from "../logger.js";
import { recordLedgerOperation, recordWebhookEvent } from "./registry.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
  await database.pool.query(`
    insert into credits.accounts (user_id, email, balance_cents) values ('metrics-user', 'm@example.com', 100);
    insert into credits.entries (user_id, amount_cents, kind, idempotency_key) values ('metrics-user', 100, 'purchase', 'metrics-credit');
    insert into credits.holds (user_id, amount_cents, idempotency_key, expires_at)
      values ('metrics-user', 30, 'metrics-hold', now() + interval '1 minute');`);
});
afterAll(() => database.drop());

function appWith(environment: Record<string, string> = {}) {
  const config = loadConfig({ DATA_DIR: "/tmp/coinslot-metrics-test", ...environment });
  // Only the routes under test are exercised; the ledger is not reached by them.
  const dependencies = { config, pool: database.pool, logger: createLogger("silent") };
  return createApp(dependencies as Parameters<typeof createApp>[0]);
}

describe("GET /metrics", () => {
  it("counts requests by route pattern and status, and reports open holds from the database", async () => {
    const app = appWith();
    await app.request("/healthz");
    await app.request("/healthz");
    await app.request("/no/such/page");
    recordLedgerOperation("spend", "INSUFFICIENT_CREDITS");
    recordWebhookEvent("checkout.session.completed", "applied");
    const response = await app.request("/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    expect(text).toContain(
      'coinslot_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 2',
    );
    expect(text).toContain(
      'coinslot_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1',
    );
    expect(text).not.toContain("/no/such/page");
    expect(text).toContain('coinslot_open_holds{measure="count"} 1');
    expect(text).toContain('coinslot_open_holds{measure="cents"} 30');
    expect(text).toContain(
      'coinslot_ledger_operations_total{operation="spend",outcome="INSUFFICIENT_CREDITS"} 1',
    );
    expect(text).toContain(
      'coinslot_stripe_webhook_events_total{type="checkout.session.completed",outcome="applied"} 1',
    );
  });

  it("requires the bearer token when METRICS_TOKEN is set", async () => {
    const app = appWith({ METRICS_TOKEN: "a-long-metrics-token" });
    const missing = await app.request("/metrics");
    expect(missing.status).toBe(401);
    expect((await missing.json()).error.code).toBe("UNAUTHENTICATED");
    const wrong = await app.request("/metrics", {
      headers: { authorization: "Bearer a-long-metrics-tokeX" },
    });
    expect(wrong.status).toBe(401);
    const right = await app.request("/metrics", {
      headers: { authorization: "Bearer a-long-metrics-token" },
    });
    expect(right.status).toBe(200);
  });

  it("is off in production until METRICS_TOKEN is set, then needs it", async () => {
    const production = {
      NODE_ENV: "production",
      APP_URL: "https://credits.example.com",
      AUTH_SECRET: "production-secret-that-is-long-enough-0123",
      SMTP_URL: "smtp://127.0.0.1:9",
    };
    const closed = await appWith(production).request("/metrics");
    expect(closed.status).toBe(403);
    const body = await closed.json();
    expect(body.error.code).toBe("METRICS_DISABLED");
    expect(body.error.message).toContain("METRICS_TOKEN");
    const app = appWith({ ...production, METRICS_TOKEN: "a-long-metrics-token" });
    expect((await app.request("/metrics")).status).toBe(401);
    const right = await app.request("/metrics", {
      headers: { authorization: "Bearer a-long-metrics-token" },
    });
    expect(right.status).toBe(200);
  });
});
