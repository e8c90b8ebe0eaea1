import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyEmailCommand } from "../src/cli/commands.js";
import { unwrap } from "../src/ledger/index.js";
import { launchChromium, screenshotBoth, watchConsole } from "./support/browser.js";
import { startWebServer, type WebServer } from "./support/web-server.js";

// The promo-code journey in a real browser: an admin makes a code in the admin page, a person
// redeems it beside their balance (in lower case), and their balance goes up; then the person's
// alert and spend-limit settings, and the low-balance banner.
const adminEmail = "promo-admin@coinslot.test";
const password = "correct horse battery staple";
// A signed-out page asks /api/me first (401); a refused redemption is answered 409, which the box shows.
const expectedErrors = [/status of 401.*\/api\/me/, /status of 409.*\/api\/promo-codes\/redeem/];

let server: WebServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startWebServer({ ADMIN_EMAILS: adminEmail }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function signUp(page: Page, name: string, email: string): Promise<void> {
  await page.goto(server.url);
  await page.getByRole("button", { name: "Create an account" }).click();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByTestId("balance").waitFor();
}

async function userIdOf(email: string): Promise<string> {
  const { rows } = await server.pool.query("select user_id from credits.accounts where email = $1", [email]);
  return rows[0].user_id;
}

describe("promo codes in the browser", () => {
  it("an admin creates a code, a person redeems it and sees the balance go up", async () => {
    const adminContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const admin = await adminContext.newPage();
    const adminProblems = watchConsole(admin, expectedErrors);
    await signUp(admin, "Grace Admin", adminEmail);
    const verified = await verifyEmailCommand(
      { pool: server.pool, ledger: server.ledger, currency: server.config.currency },
      adminEmail,
    );
    expect(verified.code).toBe(0);
    await admin.reload();
    await admin.getByRole("link", { name: "Admin" }).click();
    await admin.getByRole("heading", { name: "Promo codes" }).waitFor();
    await admin.getByText("No promo codes yet.").waitFor();
    await admin.getByRole("button", { name: "Create code" }).click();
    await admin.getByText("Use 3 to 40 letters, digits, - or _.").waitFor();
    await admin.getByLabel("Code", { exact: true }).fill("Spring-5");
    await admin.getByLabel("Credit (USD)").fill("5.00");
    await admin.getByLabel("Most redemptions (optional)").fill("10");
    await admin.getByRole("button", { name: "Create code" }).click();
    await admin.getByText("Created SPRING-5.").waitFor();
    const row = admin.locator('tr[data-promo-code="SPRING-5"]');
    await row.waitFor();
    expect(await row.getByTestId("redemptions").textContent()).toBe("0 of 10");
    await screenshotBoth(admin, "promo-1-admin-created");

    const personContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const person = await personContext.newPage();
    const personProblems = watchConsole(person, expectedErrors);
    await signUp(person, "Ada Person", "ada-promo@coinslot.test");
    await expect.poll(() => person.getByTestId("balance").textContent()).toBe("$0.50");
    await person.getByLabel("Promo code").fill("spring-5");
    await person.getByRole("button", { name: "Redeem" }).click();
    await person.getByText(/^\$5\.00 added\. Use it by /).waitFor();
    await expect.poll(() => person.getByTestId("balance").textContent()).toBe("$5.50");
    await screenshotBoth(person, "promo-2-redeemed");
    await person.getByLabel("Promo code").fill("SPRING-5");
    await person.getByRole("button", { name: "Redeem" }).click();
    await person.getByText("You have already redeemed the code SPRING-5.").waitFor();
    expect(await person.getByTestId("balance").textContent()).toBe("$5.50");

    await admin.reload();
    await row.waitFor();
    expect(await row.getByTestId("redemptions").textContent()).toBe("1 of 10");
    await row.getByRole("button", { name: "Disable" }).click();
    await admin.getByText("Disabled SPRING-5; it is refused from now on.").waitFor();
    await expect.poll(() => row.textContent()).toMatch(/Disabled /);

    expect(adminProblems).toEqual([]);
    expect(personProblems).toEqual([]);
    await adminContext.close();
    await personContext.close();
  });

  it("a person sets an alert and a spend limit, and a crossing shows a banner they can dismiss", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const problems = watchConsole(page, expectedErrors);
    const email = "lin-alerts@coinslot.test";
    await signUp(page, "Lin Alerts", email);
    const userId = await userIdOf(email);
    unwrap(
      await server.ledger.grant({ userId, amountCents: 950, kind: "adjustment", idempotencyKey: "lin-1" }),
    );
    await page.getByRole("link", { name: "Account" }).click();
    await page.getByRole("heading", { name: "Low-balance alert" }).waitFor();
    await expect.poll(() => page.getByLabel("Alert me below (USD)").inputValue()).toBe("1.00");
    await page.getByLabel("Alert me below (USD)").fill("5.00");
    await page.getByRole("button", { name: "Save alert" }).click();
    await page.getByText("You will be alerted below $5.00.").waitFor();

    await page.getByLabel("Limit per month (USD)").fill("20.00");
    await page.getByRole("button", { name: "Save limit" }).click();
    await page.getByText("Usage stops at $20.00 a month.").waitFor();
    await expect
      .poll(() => page.getByTestId("month-usage").textContent())
      .toBe("Used this month: $0.00 of $20.00");

    // Usage takes the $10.00 to $4.00: below $5.00, once.
    unwrap(await server.ledger.spend({ userId, amountCents: 600, idempotencyKey: "lin-use-1" }));
    await page.goto(`${server.url}/`);
    const banner = page.getByTestId("low-balance-banner");
    await banner.waitFor();
    expect(await banner.textContent()).toContain("Available credit fell below $5.00.");
    await screenshotBoth(page, "alerts-1-banner");
    await banner.getByRole("button", { name: "Dismiss" }).click();
    await banner.waitFor({ state: "detached" });
    await page.reload();
    await page.getByTestId("balance").waitFor();
    expect(await page.getByTestId("low-balance-banner").count()).toBe(0);

    await page.getByRole("link", { name: "Account" }).click();
    await expect
      .poll(() => page.getByTestId("month-usage").textContent())
      .toBe("Used this month: $6.00 of $20.00");
    await page.getByRole("button", { name: "Remove limit" }).click();
    await page.getByText("No monthly limit.").waitFor();
    await screenshotBoth(page, "alerts-2-settings");
    expect(problems).toEqual([]);
    await context.close();
  });
});
