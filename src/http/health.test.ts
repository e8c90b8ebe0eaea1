import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.js";
import { loadConfig } from "../config.js";
import { freePort } from "../db/embedded.js";
import { createPool, type Pool } from "../db/pool.js";
import { createLedger } from "../ledger/index.js";
import { createLogger } from "../logger.js";
import { createApp } from "./app.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

const logger = createLogger("silent");
const dependencies = (pool: Pool) => ({
  config: config(),
  pool,
  logger,
  ledger: createLedger({ pool, holdTtlSeconds: 300 }),
});
const config = () =>
  loadConfig({
    DATA_DIR: "/tmp/coinslot-health-test",
    AUTH_SECRET: "x".repeat(32),
    STRIPE_WEBHOOK_SECRET: "whsec_test",
  });

describe("GET /healthz", () => {
  it("answers 200 ok when the database answers", async () => {
    const app = createApp(dependencies(database.pool));
    const response = await app.request("/healthz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("answers 503 with a clear error when the database is down", async () => {
    const port = await freePort();
    const pool = createPool({ url: `postgres://nobody:none@127.0.0.1:${port}/none`, logger });
    try {
      const app = createApp(dependencies(pool));
      const response = await app.request("/healthz");
      expect(response.status).toBe(503);
      const body = await response.json();
      expect(body.status).toBe("unavailable");
      expect(body.error.code).toBe("DATABASE_UNAVAILABLE");
    } finally {
      await pool.end();
    }
  });

  it("serves the home page and a JSON 404 for unknown routes", async () => {
    const app = createApp(dependencies(database.pool));
    expect(await (await app.request("/")).text()).toContain("Coinslot is running");
    const missing = await app.request("/nothing-here");
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe("NOT_FOUND");
    // Under /api the session gate answers first, so a stranger learns nothing about which routes exist.
    const gated = await app.request("/api/nothing-here");
    expect(gated.status).toBe(401);
  });
});
