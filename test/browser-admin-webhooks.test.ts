import { createServer, type Server } from "node:http";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyEmailCommand } from "../src/cli/commands.js";
import { freePort } from "../src/db/embedded.js";
import { createLogger } from "../src/logger.js";
import { createServiceKey } from "../src/metering/keys.js";
import { startWebhookDeliverer } from "../src/webhooks/deliverer.js";
import { launchChromium, screenshotBoth, watchConsole } from "./support/browser.js";
import { startWebServer, type WebServer } from "./support/web-server.js";

// An app's customer buys credits; Coinslot delivers credits.purchased to the app's endpoint (a local
// receiver here), and the admin sees that delivery, with its attempt, in the admin page.
const adminEmail = "webhooks-admin@coinslot.test";
const password = "correct horse battery staple";
const appOrigin = "https://app.example.com";
// A signed-out page asks /api/me first (401).
const expectedErrors = [/status of 401.*\/api\/me/];

let server: WebServer;
let browser: Browser;
let receiver: Server;
let receiverUrl: string;
let received = 0;
let stopDeliverer: () => Promise<void>;

beforeAll(async () => {
  const port = await freePort();
  receiverUrl = `http://127.0.0.1:${port}/hooks`;
  receiver = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      received += 1;
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((listening) => receiver.listen(port, "127.0.0.1", () => listening()));
  [server, browser] = await Promise.all([
    startWebServer({
      ADMIN_EMAILS: adminEmail,
      WEBHOOK_ENDPOINTS: receiverUrl,
      CHECKOUT_RETURN_ORIGINS: appOrigin,
    }),
    launchChromium(),
  ]);
  const deliverer = await startWebhookDeliverer({
    pool: server.pool,
    logger: createLogger("silent"),
    endpointUrls: server.config.webhookEndpoints,
    authSecret: server.config.authSecret,
    lowBalanceAlertCents: server.config.lowBalanceAlertCents,
    intervalMs: 25,
    timeoutMs: 2_000,
  });
  stopDeliverer = deliverer.stop;
});
afterAll(async () => {
  await stopDeliverer?.();
  await browser?.close();
  await server?.close();
  await new Promise<void>((done) => (receiver ? receiver.close(() => done()) : done()));
});

async function signUpVerifiedAdmin(page: Page): Promise<void> {
  await page.goto(server.url);
  await page.getByRole("button", { name: "Create an account" }).click();
  await page.getByLabel("Name").fill("Ada Admin");
  await page.getByLabel("Email").fill(adminEmail);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByTestId("balance").waitFor();
  const verified = await verifyEmailCommand(
    { pool: server.pool, ledger: server.ledger, currency: server.config.currency },
    adminEmail,
  );
  expect(verified.code).toBe(0);
  await page.reload();
  await page.getByRole("link", { name: "Admin" }).click();
  await page.getByRole("heading", { name: "Webhook deliveries" }).waitFor();
}

/** The app's backend makes its user a customer and sends them to buy; the customer pays in the simulator. */
async function customerBuys(customer: string, amountCents: number): Promise<void> {
  const { secret } = await createServiceKey(server.pool, { name: "shop app", production: false });
  const call = (method: string, path: string, body: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const put = await call("PUT", `/v1/customers/${customer}`, { email: `${customer}@example.com` });
  expect(put.status).toBe(201);
  const checkout = await call("POST", "/v1/checkout", {
    customer,
    amountCents,
    returnUrl: `${appOrigin}/credits`,
  });
  expect(checkout.status).toBe(201);
  const { url } = (await checkout.json()) as { url: string };
  const html = await (await fetch(url)).text();
  const action = /action="([^"]*\/pay[^"]*)"/.exec(html)?.[1]?.replaceAll("&#38;", "&");
  const paid = await fetch(new URL(action as string, url), { method: "POST", redirect: "manual" });
  expect(paid.status).toBe(303);
}

describe("webhook deliveries in the admin page", () => {
  it("shows the endpoint, and a customer's purchase as a delivered credits.purchased after Refresh", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const consoleProblems = watchConsole(page, expectedErrors);
    await signUpVerifiedAdmin(page);
    const endpoint = page.locator(`li[data-endpoint="${receiverUrl}"]`);
    await endpoint.waitFor();
    expect(await endpoint.textContent()).toContain("Active");
    await page.getByText("No deliveries yet").waitFor();

    await customerBuys("shop_user_7", 300);
    await expect.poll(() => received, { timeout: 10_000 }).toBeGreaterThan(0);
    const row = page.locator('tr[data-delivery-type="credits.purchased"][data-customer="shop_user_7"]');
    // The receiver answers before the deliverer records the attempt: refresh until the row says so.
    await expect
      .poll(
        async () => {
          await page.getByRole("button", { name: "Refresh" }).click();
          await page.getByRole("button", { name: "Refresh" }).waitFor();
          return (await row.count()) > 0 ? row.getAttribute("data-status") : null;
        },
        { timeout: 10_000 },
      )
      .toBe("delivered");
    const cells = await row.locator("td").allTextContents();
    expect(cells.slice(1)).toEqual([
      "credits.purchased",
      "shop_user_7",
      receiverUrl,
      "Delivered",
      "1",
      "200",
      "—",
    ]);
    await screenshotBoth(page, "admin-webhooks-1-delivered");
    expect(consoleProblems).toEqual([]);
    await context.close();
  });
});
