import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyEmailCommand } from "../src/cli/commands.js";
import { launchChromium, screenshotBoth, watchConsole } from "./support/browser.js";
import { startWebServer, type WebServer } from "./support/web-server.js";

// An admin makes a service key in the admin page, sees its secret once, an app uses it against /v1,
// and the admin revokes it: the app's next request is refused and the list keeps the key as revoked.
const adminEmail = "keys-admin@coinslot.test";
const password = "correct horse battery staple";
// A signed-out page asks /api/me first (401).
const expectedErrors = [/status of 401.*\/api\/me/];

let server: WebServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startWebServer({ ADMIN_EMAILS: adminEmail }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function signUpVerifiedAdmin(page: Page): Promise<void> {
  await page.goto(server.url);
  await page.getByRole("button", { name: "Create an account" }).click();
  await page.getByLabel("Name").fill("Grace Admin");
  await page.getByLabel("Email").fill(adminEmail);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByTestId("balance").waitFor();
  // ADMIN_EMAILS gives admin rights to a verified email only, as `npm run cli -- verify-email` makes it.
  const verified = await verifyEmailCommand(
    { pool: server.pool, ledger: server.ledger, currency: server.config.currency },
    adminEmail,
  );
  expect(verified.code).toBe(0);
  await page.reload();
  await page.getByRole("link", { name: "Admin" }).click();
  await page.getByRole("heading", { name: "Service keys" }).waitFor();
}

/** What an app's backend gets for a customer that does not exist: 404 with a live key, 401 without. */
async function customerStatus(secret: string): Promise<{ status: number; code: string }> {
  const response = await fetch(`${server.url}/v1/customers/x`, {
    headers: { authorization: `Bearer ${secret}` },
  });
  const body = (await response.json()) as { error: { code: string } };
  return { status: response.status, code: body.error.code };
}

describe("service keys in the admin page", () => {
  it("creates a key whose secret shows once and works, then revokes it after a confirmation", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    const page = await context.newPage();
    const consoleProblems = watchConsole(page, expectedErrors);
    await signUpVerifiedAdmin(page);
    await page.getByText("No service keys yet.").waitFor();

    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByText("Name the app that will use it, in 1 to 100 characters.").waitFor();
    await page.getByLabel("New key's name").fill("prompt app");
    await page.getByRole("button", { name: "Create key" }).click();
    const shown = page.getByTestId("new-secret");
    await shown.waitFor();
    const secret = (await shown.textContent()) ?? "";
    expect(secret).toMatch(/^csk_test_[A-Za-z0-9_-]{43}$/);
    await page.getByText("you will not see it again").waitFor();
    await page.getByRole("button", { name: "Copy", exact: true }).click();
    await page.getByRole("button", { name: "Copied" }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const row = page.locator(`tr[data-key-prefix="${secret.slice(0, 17)}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain("prompt app");
    expect(await row.textContent()).toContain("Never");
    await screenshotBoth(page, "admin-keys-1-created");

    // An app with the secret reaches /v1: an unknown customer is 404, not 401.
    expect(await customerStatus(secret)).toEqual({ status: 404, code: "CUSTOMER_NOT_FOUND" });
    await page.getByRole("button", { name: "Done" }).click();
    await page.reload();
    await row.waitFor();
    expect(await row.textContent()).not.toContain("Never");
    expect(await page.content()).not.toContain(secret);

    await row.getByRole("button", { name: "Revoke" }).click();
    await row.getByRole("button", { name: "Cancel" }).click();
    expect(await customerStatus(secret)).toEqual({ status: 404, code: "CUSTOMER_NOT_FOUND" });
    await row.getByRole("button", { name: "Revoke" }).click();
    await row.getByRole("button", { name: "Confirm revoke" }).click();
    await page.getByText("Revoked “prompt app”; its next request is refused.").waitFor();
    await expect.poll(async () => row.getAttribute("data-revoked")).toBe("true");
    expect(await row.textContent()).toMatch(/Revoked /);
    expect(await row.getByRole("button").count()).toBe(0);
    expect(await customerStatus(secret)).toEqual({ status: 401, code: "INVALID_SERVICE_KEY" });
    await screenshotBoth(page, "admin-keys-2-revoked");

    await page.reload();
    await row.waitFor();
    expect(await row.getAttribute("data-revoked")).toBe("true");
    expect(consoleProblems).toEqual([]);
    await context.close();
  });
});
