import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../../test/support/app.js";
import { webAppRoutes } from "./static.js";

const page = "<!doctype html><title>Coinslot</title><div id=root></div>";

// The server's own routes first, then the web app, as src/http/app.ts mounts them.
function appServing(directory: string): Hono {
  const app = new Hono();
  app.get("/healthz", (context) => context.json({ status: "ok" }));
  app.get("/simulator/checkout/:id", (context) => context.html("simulator"));
  app.route("/", webAppRoutes(directory));
  app.notFound((context) => context.json({ error: { code: "NOT_FOUND", message: "no" } }, 404));
  return app;
}

describe("the built web app", () => {
  let directory: string;
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), "coinslot-web-"));
    mkdirSync(join(directory, "assets"));
    writeFileSync(join(directory, "index.html"), page);
    writeFileSync(join(directory, "assets", "index-abc123.js"), "console.log('app')");
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it("serves the page at / and at client routes, always revalidated", async () => {
    const app = appServing(directory);
    for (const path of ["/", "/history", "/admin", "/conversations/abc"]) {
      const response = await app.request(path, { headers: { accept: "text/html,*/*" } });
      expect(response.status, path).toBe(200);
      expect(await response.text()).toBe(page);
      expect(response.headers.get("cache-control")).toBe("no-cache");
    }
  });

  it("answers a mistyped path with a JSON 404 unless a browser navigates to it", async () => {
    const response = await appServing(directory).request("/nothing-here");
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe("NOT_FOUND");
  });

  it("serves hashed assets as immutable, and a missing file as 404, not the page", async () => {
    const app = appServing(directory);
    const asset = await app.request("/assets/index-abc123.js");
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toContain("javascript");
    expect(asset.headers.get("cache-control")).toContain("immutable");
    const missing = await app.request("/assets/index-gone.js", { headers: { accept: "text/html" } });
    expect(missing.status).toBe(404);
  });

  it("never shadows the server's paths", async () => {
    const app = appServing(directory);
    const browser = { headers: { accept: "text/html" } };
    const api = await app.request("/api/nothing-here", browser);
    expect(api.status).toBe(404);
    expect((await api.json()).error.code).toBe("NOT_FOUND");
    expect(await (await app.request("/healthz")).json()).toEqual({ status: "ok" });
    expect(await (await app.request("/simulator/checkout/cs_sim_1")).text()).toBe("simulator");
    expect((await app.request("/simulator/unknown", browser)).status).toBe(404);
    expect((await app.request("/metrics", browser)).status).toBe(404);
  });

  it("explains how to build when the build is missing", async () => {
    const app = appServing(join(directory, "not-built"));
    const home = await app.request("/");
    expect(home.status).toBe(200);
    expect(await home.text()).toContain("npm run build");
    expect((await app.request("/history", { headers: { accept: "text/html" } })).status).toBe(404);
  });
});

describe("GET /api/config", () => {
  let test: TestApp;
  beforeAll(async () => {
    test = await createTestApp({ TOPUP_MIN_CENTS: "200", TOPUP_DEFAULT_CENTS: "400", CURRENCY: "EUR" });
  });
  afterAll(() => test.close());

  it("gives the signed-out UI the top-up limits, currency and whether Google is on", async () => {
    const response = await test.app.request("/api/config");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      topup: { minCents: 200, maxCents: 1000, stepCents: 50, defaultCents: 400 },
      currency: "eur",
      googleEnabled: false,
      newUserCreditsCents: 50,
      requireEmailVerification: false,
      localMailbox: true,
    });
  });

  it("says when Google sign-in is configured", async () => {
    const withGoogle = await createTestApp({ GOOGLE_CLIENT_ID: "id", GOOGLE_CLIENT_SECRET: "secret" });
    try {
      const body = await (await withGoogle.app.request("/api/config")).json();
      expect(body.googleEnabled).toBe(true);
    } finally {
      await withGoogle.close();
    }
  });
});
