import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAutoTopUpWorker } from "../src/billing/auto-topup-worker.js";
import { createBillingContext } from "../src/billing/context.js";
import { createLogger } from "../src/logger.js";
import { uniqueEmail } from "./support/app.js";
import { launchChromium, screenshotBoth, watchConsole } from "./support/browser.js";
import { startWebServer, type WebServer } from "./support/web-server.js";

// Auto top-up in Chromium, offline: turn it on in the account settings through the simulator's
// Checkout (which saves a test card), spend below the threshold by asking the demo model, and see
// the balance refilled by the worker and the top-up's receipt among the purchases.
const password = "correct horse battery staple";
// The simulator's page has no icon, so Chromium's guess at /favicon.ico is a 404.
const expectedErrors = [/favicon\.ico/, /status of 401/];

let server: WebServer;
let browser: Browser;
let worker: { stop: () => Promise<void> };

beforeAll(async () => {
  [server, browser] = await Promise.all([startWebServer({ NEW_USER_CREDITS_CENTS: "0" }), launchChromium()]);
  // `npm start` runs this worker from src/main.ts; the test server is the app alone.
  const context = createBillingContext({
    config: server.config,
    pool: server.pool,
    ledger: server.ledger,
    logger: createLogger("silent"),
  });
  worker = startAutoTopUpWorker(context, { intervalMs: 200 });
});
afterAll(async () => {
  await worker?.stop();
  await browser?.close();
  await server?.close();
});

async function signUp(page: Page): Promise<void> {
  await page.goto(server.url);
  await page.getByRole("button", { name: "Create an account" }).click();
  await page.getByLabel("Name").fill("Auto Person");
  await page.getByLabel("Email").fill(uniqueEmail("auto-topup"));
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByTestId("balance").waitFor();
}

/** Account › Auto top-up: on below $5.00, buy $5.00, through the simulator's Checkout saving `card`. */
async function turnOn(page: Page, card: string, options: { screenshots?: boolean } = {}): Promise<void> {
  await page.goto(`${server.url}/account`);
  const section = page.locator("#auto-top-up");
  await section.getByText("Off. Turn it on").waitFor();
  await section.getByLabel("Top up automatically").check();
  await section.getByLabel("When available credit falls below ($)").fill("5.00");
  await section.getByLabel("Buy this much ($)").fill("5.00");
  await section.getByLabel("At most this much a month ($)").fill("20.00");
  if (options.screenshots) await screenshotBoth(page, "60-auto-topup-settings");
  await section.getByRole("button", { name: "Save auto top-up" }).click();
  // The simulator's Checkout: buys the first $5.00 and saves the card typed there.
  await page.waitForURL(/\/simulator\/checkout\/cs_sim_/);
  const cardField = page.getByLabel("Card number (saved for auto top-up)");
  expect(await cardField.inputValue()).toBe("4242 4242 4242 4242");
  await cardField.fill(card);
  if (options.screenshots) await screenshotBoth(page, "61-auto-topup-checkout");
  await page.getByRole("button", { name: "Pay $5.00 (simulated)" }).click();
  await page.getByText("Payment complete").waitFor();
  await expect.poll(() => page.getByTestId("balance").textContent()).toBe("$5.00");
}

/** Any answer's charge takes available credit below $5.00. */
async function ask(page: Page, question: string): Promise<void> {
  await page.getByLabel("Your question").fill(question);
  await page.getByRole("button", { name: "Send" }).click();
  await page.getByTestId("answer-cost").last().waitFor();
}

async function balanceDollars(page: Page): Promise<number> {
  return Number(((await page.getByTestId("balance").textContent()) ?? "").replace(/[^\d.]/g, ""));
}

describe("auto top-up in the browser", () => {
  it("is turned on in settings, refills the balance below the threshold, and leaves a receipt", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems = watchConsole(page, expectedErrors);
    await signUp(page);
    await expect.poll(() => page.getByTestId("balance").textContent()).toBe("$0.00");

    await turnOn(page, "4242 4242 4242 4242", { screenshots: true });
    const section = page.locator("#auto-top-up");

    // The answer's charge takes available credit below $5.00: one top-up of $5.00 follows, after the
    // answer, so the page shows it once it reads the balance again.
    await page.getByLabel("Your question").fill("How does auto top-up decide when to buy?");
    await page.getByRole("button", { name: "Send" }).click();
    await page.getByTestId("answer-cost").waitFor();
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.getByTestId("balance").waitFor();
          return balanceDollars(page);
        },
        { timeout: 15_000 },
      )
      .toBeGreaterThan(9);

    await page.goto(`${server.url}/account`);
    await section.getByTestId("auto-topup").filter({ hasText: "$5.00 paid" }).waitFor();
    expect(await section.getByTestId("auto-topup-state").textContent()).toContain("On: below $5.00");
    const purchases = page.getByTestId("purchase");
    await expect.poll(() => purchases.count()).toBe(2);
    expect(await purchases.first().textContent()).toContain("pi_sim_topup_");
    await screenshotBoth(page, "62-auto-topup-refilled");
    const [receipt] = await Promise.all([
      page.waitForEvent("popup"),
      purchases.first().getByRole("link", { name: "Receipt" }).click(),
    ]);
    await receipt.getByText("$5.00").first().waitFor();
    expect(await receipt.content()).toContain("pi_sim_topup_");
    expect(problems).toEqual([]);
  });

  it("shows a card that asks for authentication as a notice, and the person pays it on the page", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems = watchConsole(page, expectedErrors);
    await signUp(page);
    await turnOn(page, "4000 0027 6000 3184");
    await ask(page, "Will my bank let this through?");

    // Anywhere in the app a banner says so, with the way to the payment.
    const banner = page.getByTestId("auto-topup-banner");
    await expect
      .poll(
        async () => {
          await page.reload();
          // The banner comes with the page's second read (of auto top-up): give it a moment.
          return banner.waitFor({ timeout: 2_000 }).then(
            () => true,
            () => false,
          );
        },
        { timeout: 15_000 },
      )
      .toBe(true);
    expect(await banner.textContent()).toContain("Your auto top-up of $5.00 did not go through");
    await banner.getByRole("link", { name: "Pay it in your account" }).click();
    await page.waitForURL((url) => url.pathname === "/account");
    expect(await banner.count()).toBe(0);
    const section = page.locator("#auto-top-up");
    const notice = section.getByTestId("auto-topup-notice");
    await expect
      .poll(
        async () => {
          await page.reload();
          // The notice comes with the section's read of auto top-up: give it a moment.
          return notice.waitFor({ timeout: 2_000 }).then(
            () => true,
            () => false,
          );
        },
        { timeout: 15_000 },
      )
      .toBe(true);
    expect(await notice.textContent()).toContain("Your bank asks you to confirm this payment yourself.");
    await screenshotBoth(page, "63-auto-topup-needs-you");
    await section.getByRole("button", { name: "Pay $5.00 now" }).click();
    await page.waitForURL(/\/simulator\/checkout\/cs_sim_/);
    await page.getByLabel("Card number (saved for auto top-up)").fill("4000 0027 6000 3184");
    await page.getByRole("button", { name: "Pay $5.00 (simulated)" }).click();
    await page.getByText("Payment complete").waitFor();
    await expect.poll(() => balanceDollars(page)).toBeGreaterThan(9);
    await page.goto(`${server.url}/account`);
    await section.getByTestId("auto-topup").filter({ hasText: "$5.00 paid" }).waitFor();
    expect(await notice.count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
