import { randomBytes } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyEmailCommand } from "../src/cli/commands.js";
import { launchChromium, screenshotBoth, watchConsole } from "./support/browser.js";
import { startWebServer, type WebServer } from "./support/web-server.js";

// The whole product in Chromium: the simulator stands in for Stripe, the demo model for the AI.
const adminEmail = "admin@coinslot.test";
const password = "correct horse battery staple";
// A signed-out page asks /api/me first (401); the chat's refused hold is a 402 the UI shows; the
// checkout simulator's page (not the web app) has no icon, so Chromium's guess at /favicon.ico is a 404.
const expectedErrors = [
  /status of 401.*\/api\/me/,
  /status of 402.*\/api\/chat/,
  /status of 404.*\/favicon\.ico/,
];

let server: WebServer;
let browser: Browser;
const consoleProblemsOf = new Map<Page, string[]>();
let customerEmail = "";

beforeAll(async () => {
  [server, browser] = await Promise.all([startWebServer({ ADMIN_EMAILS: adminEmail }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  consoleProblemsOf.set(page, watchConsole(page, expectedErrors));
  return page;
}

const consoleProblems = (page: Page) => consoleProblemsOf.get(page) ?? [];

function uniqueEmail(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}@example.com`;
}

async function signUp(page: Page, email: string, name = "Ada Lovelace"): Promise<void> {
  await page.goto(server.url);
  await page.getByRole("button", { name: "Create an account" }).click();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByTestId("balance").waitFor();
}

async function balanceCents(page: Page): Promise<number> {
  const text = (await page.getByTestId("balance").textContent()) ?? "";
  return Math.round(Number(text.replace(/[^0-9.-]/g, "")) * 100);
}

describe("the journey of a new customer", () => {
  it("signs up, buys $3.00, asks a question, sees the charge in history, and signs out", async () => {
    const page = await newPage();
    customerEmail = uniqueEmail("journey");

    await page.goto(server.url);
    await expect
      .poll(() => page.getByRole("heading", { name: "Sign in to Coinslot" }).isVisible())
      .toBe(true);
    await screenshotBoth(page, "1-sign-in");

    await signUp(page, customerEmail);
    await expect.poll(() => page.getByTestId("balance").textContent()).toBe("$0.50");
    await expect(
      page.getByText("Your credit balance is consumed as you use the app.").isVisible(),
    ).resolves.toBe(true);
    expect(await page.getByLabel("Amount (USD)").inputValue()).toBe("3.00");
    await screenshotBoth(page, "2-home");

    await page.getByRole("button", { name: "Buy now" }).click();
    await page.waitForURL(/\/simulator\/checkout\/cs_sim_/);
    await screenshotBoth(page, "3-test-checkout");
    await page.getByRole("button", { name: "Pay $3.00 (simulated)" }).click();
    await page.waitForURL((url) => url.pathname === "/" && !url.search.includes("session_id"));
    await page.getByText("Payment complete").waitFor();
    await expect.poll(() => page.getByTestId("balance").textContent()).toBe("$3.50");
    await screenshotBoth(page, "4-payment-complete");

    await page.getByLabel("Your question").fill("What does a ledger that never loses a cent look like?");
    // Every line shown under the answer, and whether a hold showed, as the DOM changes: on a loaded machine the browser may take
    // the whole stream in one burst, so a poll could miss the short streaming state that React did render.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { costLines: string[] }).costLines = seen;
      new MutationObserver(() => {
        for (const line of document.querySelectorAll(".message-assistant .cost"))
          seen.push(line.textContent ?? "");
        if (document.querySelector("[data-testid=held]")) seen.push("held on the balance card");
      }).observe(document.body, { childList: true, subtree: true, characterData: true });
    });
    await page.getByRole("button", { name: "Send" }).click();
    const cost = page.getByTestId("answer-cost");
    await cost.waitFor();
    const charged = /Cost \$(\d+\.\d\d)/.exec((await cost.textContent()) ?? "");
    expect(charged).not.toBeNull();
    const chargedCents = Math.round(Number(charged?.[1]) * 100);
    expect(chargedCents).toBeGreaterThan(0);
    const costLines = await page.evaluate(() => (window as unknown as { costLines: string[] }).costLines);
    // While the answer streamed, its hold showed on the balance card and under the growing answer.
    expect(costLines).toContain("held on the balance card");
    expect(costLines.some((line) => /^Answering… up to \$0\.\d\d reserved$/.test(line))).toBe(true);
    await expect.poll(() => balanceCents(page)).toBe(350 - chargedCents);
    expect(await page.getByTestId("held").count()).toBe(0);
    expect(await page.locator(".message-assistant .bubble").textContent()).toContain("demo model");
    await screenshotBoth(page, "5-chat");

    await page.getByRole("link", { name: "History" }).click();
    const usage = page.locator("tr[data-kind=usage]");
    await usage.waitFor();
    expect(await usage.textContent()).toContain("AI usage");
    expect(await usage.locator("td.amount").textContent()).toBe(`−$${(chargedCents / 100).toFixed(2)}`);
    expect(await page.locator("tr[data-kind=purchase] td.amount").textContent()).toBe("+$3.00");
    expect(await page.locator("tr[data-kind=signup_bonus] td.amount").textContent()).toBe("+$0.50");
    // Which credit each entry made or used: the welcome credit is promotional and expires, so the
    // answer was paid from it first; the purchase is paid credit that never expires.
    expect(await page.locator("tr[data-kind=signup_bonus] .entry-lots").textContent()).toMatch(
      /^promotional credit, expires /,
    );
    expect(await page.locator("tr[data-kind=purchase] .entry-lots").textContent()).toBe(
      "paid credit, never expires",
    );
    expect(await usage.locator(".entry-lots").textContent()).toBe(
      `from promotional credit $${(chargedCents / 100).toFixed(2)}`,
    );
    await page.reload();
    await page.getByTestId("next-expiry").waitFor();
    expect(await page.getByTestId("next-expiry").textContent()).toMatch(
      new RegExp(`^\\$${((50 - chargedCents) / 100).toFixed(2).replace(".", "\\.")} expires `),
    );
    await screenshotBoth(page, "6-history");

    await page.getByRole("link", { name: "Conversations" }).click();
    const saved = page.getByRole("button", {
      name: /What does a ledger that never loses a cent look like\?/,
    });
    await saved.waitFor();
    await screenshotBoth(page, "7-conversations");
    // Reopened in a fresh chat, the saved answer still shows what it cost.
    await page.getByRole("link", { name: "Chat" }).click();
    await page.getByRole("button", { name: "New chat" }).click();
    await page.getByRole("link", { name: "Conversations" }).click();
    await saved.click();
    await expect
      .poll(() => page.getByTestId("answer-cost").textContent())
      .toBe(`Cost $${(chargedCents / 100).toFixed(2)}`);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to Coinslot" }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "Sign in to Coinslot" }).waitFor();
    expect(consoleProblems(page)).toEqual([]);
  });
});

describe("the states around it", () => {
  it("shows field errors next to the fields, and the server's message for a wrong password", async () => {
    const page = await newPage();
    await page.goto(server.url);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("Enter an email address like you@example.com.").waitFor();
    await page.getByText("Enter your password.").waitFor();
    expect(await page.getByRole("button", { name: "Continue with Google" }).count()).toBe(0);
    expect(await page.getByLabel("Email").getAttribute("aria-invalid")).toBe("true");

    await page.getByLabel("Email").fill(customerEmail || "nobody@example.com");
    await page.getByLabel("Password").fill("not the password at all");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "The email or the password is wrong" }).waitFor();
    await screenshotBoth(page, "8-wrong-password");
    expect(consoleProblems(page).filter((line) => !/status of 401/.test(line))).toEqual([]);
  });

  it("offers to buy when there is not enough credit for an answer", async () => {
    const page = await newPage();
    await signUp(page, uniqueEmail("broke"), "Out of Credit");
    const me = await page.evaluate(() => fetch("/api/me").then((response) => response.json()));
    const drained = await server.ledger.spend({
      userId: me.user.id,
      amountCents: 50,
      kind: "adjustment",
      idempotencyKey: `test-drain-${me.user.id}`,
      description: "Test: spend the starter credit",
    });
    expect(drained.error).toBeNull();
    await page.reload();
    await expect.poll(() => page.getByTestId("balance").textContent()).toBe("$0.00");

    await page.getByLabel("Your question").fill("Will this work without credit?");
    await page.getByRole("button", { name: "Send" }).click();
    await page.getByText("Not enough credit for an answer").waitFor();
    await screenshotBoth(page, "9-insufficient-credits");
    await page.getByRole("button", { name: "Buy credits" }).click();
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("buy-amount");

    await page.getByRole("button", { name: "Buy now" }).click();
    await page.waitForURL(/\/simulator\/checkout\/cs_sim_/);
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.getByText("Checkout cancelled").waitFor();
    expect(new URL(page.url()).search).toBe("");
    expect(await balanceCents(page)).toBe(0);

    // History comes a page (20 entries) at a time: 2 entries so far, 25 more make two pages. Entry ids
    // now pass from one digit to two, so a cursor compared as text would repeat or skip entries.
    for (let index = 0; index < 25; index += 1) {
      const granted = await server.ledger.grant({
        userId: me.user.id,
        amountCents: 1,
        kind: "adjustment",
        idempotencyKey: `test-cent-${me.user.id}-${index}`,
        description: `Test cent ${index}`,
      });
      expect(granted.error).toBeNull();
    }
    await page.getByRole("link", { name: "History" }).click();
    await expect.poll(() => page.locator("tbody tr").count()).toBe(20);
    await page.getByRole("button", { name: "Show older entries" }).click();
    await expect.poll(() => page.locator("tbody tr").count()).toBe(27);
    expect(await page.getByRole("button", { name: "Show older entries" }).count()).toBe(0);
    expect(await page.locator("tbody tr").last().textContent()).toContain("Welcome credit");
    expect(consoleProblems(page)).toEqual([]);
  });

  it("lets an admin grant credits with a reason, and refund a test payment; the customer sees both", async () => {
    expect(customerEmail, "the journey above signs the customer up").not.toBe("");
    const customer = await newPage();
    await customer.goto(server.url);
    await customer.getByLabel("Email").fill(customerEmail);
    await customer.getByLabel("Password").fill(password);
    await customer.getByRole("button", { name: "Sign in" }).click();
    const before = await (async () => {
      await customer.getByTestId("balance").waitFor();
      return balanceCents(customer);
    })();

    const admin = await newPage();
    await signUp(admin, adminEmail, "Grace Admin");
    // A password account's email is unverified, so ADMIN_EMAILS alone gives no admin rights...
    expect(await admin.getByRole("link", { name: "Admin" }).count()).toBe(0);
    // ...until an operator verifies it, as with `npm run cli -- verify-email`.
    const verified = await verifyEmailCommand(
      { pool: server.pool, ledger: server.ledger, currency: server.config.currency },
      adminEmail,
    );
    expect(verified.code).toBe(0);
    await admin.reload();
    await admin.getByRole("link", { name: "Admin" }).click();
    await admin.getByLabel("Search accounts by email or user id").fill(customerEmail);
    await admin.getByRole("button", { name: "Search" }).click();
    await admin.getByRole("button", { name: new RegExp(customerEmail) }).click();

    await admin.getByRole("button", { name: "Add credits" }).click();
    await admin.getByText("Enter an amount in dollars, such as 5.00.").waitFor();
    await admin.getByText(/Say why, in at least 3 characters/).waitFor();
    await admin.getByLabel("Amount (USD)").fill("5.00");
    await admin.getByLabel("Reason").fill("Goodwill after an outage");
    await admin.getByRole("button", { name: "Add credits" }).click();
    await admin.getByText("Added $5.00.").waitFor();
    await admin.locator("tr[data-kind=adjustment]").filter({ hasText: "Goodwill after an outage" }).waitFor();
    await screenshotBoth(admin, "10-admin");

    await admin.locator("tr[data-kind=purchase]").getByRole("button", { name: "Refund" }).click();
    await admin.getByRole("button", { name: "Confirm refund" }).click();
    await admin.getByText(/Refunded \$3\.00/).waitFor();
    await admin.locator("tr[data-kind=refund]").waitFor();

    await customer.reload();
    await expect.poll(() => balanceCents(customer)).toBe(before + 500 - 300);
    await customer.getByRole("link", { name: "History" }).click();
    await customer
      .locator("tr[data-kind=adjustment]")
      .filter({ hasText: "Goodwill after an outage" })
      .waitFor();
    await customer.locator("tr[data-kind=refund]").waitFor();
    expect(consoleProblems(customer)).toEqual([]);
    expect(consoleProblems(admin)).toEqual([]);
  });
});

describe("Google sign-in, when configured", () => {
  it("shows the Google button, which sends the browser to Google's consent page", async () => {
    const withGoogle = await startWebServer({
      GOOGLE_CLIENT_ID: "browser-test-client.apps.googleusercontent.com",
      GOOGLE_CLIENT_SECRET: "browser-test-secret",
    });
    try {
      const page = await newPage();
      // No network here: catch the navigation to Google and answer it locally.
      await page.route("https://accounts.google.com/**", (route) =>
        route.fulfill({ contentType: "text/html", body: "<title>Google</title>" }),
      );
      await page.goto(withGoogle.url);
      await page.getByRole("button", { name: "Continue with Google" }).click();
      await page.waitForURL(/^https:\/\/accounts\.google\.com\//);
      const google = new URL(page.url());
      expect(google.searchParams.get("client_id")).toBe("browser-test-client.apps.googleusercontent.com");
      expect(google.searchParams.get("redirect_uri")).toBe(`${withGoogle.url}/api/auth/callback/google`);
      expect(consoleProblems(page)).toEqual([]);
    } finally {
      await withGoogle.close();
    }
  });
});
