import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueEmail } from "./support/app.js";
import { launchChromium, screenshotBoth, watchConsole } from "./support/browser.js";
import { startWebServer, type WebServer } from "./support/web-server.js";

// A person's account in Chromium, on a server that waits for verified email (as production does)
// and keeps its mail in the local mailbox at /dev/mailbox: sign up, confirm by the emailed link,
// starter credits; forgot password, reset, sign in; change password, purchases and receipt; delete.
const password = "correct horse battery staple";
// A signed-out page asks /api/me first (401); a refused sign-in answers 401 or 403 on purpose.
const expectedErrors = [/status of 401/, /status of 403/, /status of 400.*change-password/, /favicon\.ico/];

let server: WebServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startWebServer({ REQUIRE_EMAIL_VERIFICATION: "true" }),
    launchChromium(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function newPage(): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  return { page, problems: watchConsole(page, expectedErrors) };
}

/** Opens the newest mail to `email` whose subject matches, in the local mailbox, and follows its link. */
async function followMailedLink(page: Page, email: string, subject: RegExp): Promise<void> {
  await page.goto(`${server.url}/dev/mailbox`);
  const mail = page.getByTestId("mail").filter({ hasText: email }).filter({ hasText: subject }).first();
  await mail.getByRole("link").first().click();
  const link = page.locator(`a[href^="${server.url}/api/auth/"]`).first();
  await link.click();
}

async function signUp(page: Page, email: string): Promise<void> {
  await page.goto(server.url);
  await page.getByRole("button", { name: "Create an account" }).click();
  await page.getByLabel("Name").fill("Account Person");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
}

async function signIn(page: Page, email: string, secret: string): Promise<void> {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(secret);
  await page.getByRole("button", { name: "Sign in" }).click();
}

describe("signing up with an email that must be confirmed", () => {
  it("asks to check the mail, and the link in the local mailbox signs in with the starter credits", async () => {
    const { page, problems } = await newPage();
    const email = uniqueEmail("verify");
    await signUp(page, email);
    await page.getByRole("heading", { name: "Check your email" }).waitFor();
    expect(await page.getByTestId("check-email").textContent()).toContain(email);
    await screenshotBoth(page, "20-check-your-email");

    // Signing in before confirming is refused with what to do.
    await page.getByRole("button", { name: "Back to sign in" }).click();
    await signIn(page, email, password);
    await page.getByText("Confirm your email address first").waitFor();

    await followMailedLink(page, email, /confirm/i);
    await page.waitForURL((url) => url.pathname === "/");
    await expect.poll(() => page.getByTestId("balance").textContent(), { timeout: 10_000 }).toBe("$0.50");
    await screenshotBoth(page, "21-verified-with-credits");
    expect(problems).toEqual([]);
  });
});

describe("a forgotten password", () => {
  it("sends a reset link, sets the new password once, and the new password signs in", async () => {
    const { page, problems } = await newPage();
    const email = uniqueEmail("forgot");
    await signUp(page, email);
    await page.getByRole("heading", { name: "Check your email" }).waitFor();
    await followMailedLink(page, email, /confirm/i);
    await page.getByTestId("balance").waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();

    await page.getByRole("button", { name: "Forgot password?" }).click();
    await page.getByRole("heading", { name: "Reset your password" }).waitFor();
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Send reset link" }).click();
    await page.getByRole("heading", { name: "Check your email" }).waitFor();
    await screenshotBoth(page, "22-reset-link-sent");

    await followMailedLink(page, email, /password/i);
    await page.waitForURL((url) => url.pathname === "/reset-password");
    await page.getByLabel("New password", { exact: true }).fill("a new password for me");
    await page.getByLabel("Repeat the new password").fill("a new password for me");
    await screenshotBoth(page, "23-choose-new-password");
    await page.getByRole("button", { name: "Set new password" }).click();
    await page.getByText("Your new password is set").waitFor();
    await page.getByRole("button", { name: "Sign in" }).click();

    await signIn(page, email, password);
    await page.getByText("The email or the password is wrong").waitFor();
    await signIn(page, email, "a new password for me");
    await page.getByTestId("balance").waitFor();
    expect(problems).toEqual([]);
  });
});

describe("the account page", () => {
  it("lists a purchase with its receipt, changes the password, and deletes the account after confirming", async () => {
    const { page, problems } = await newPage();
    const email = uniqueEmail("account");
    await signUp(page, email);
    await page.getByRole("heading", { name: "Check your email" }).waitFor();
    await followMailedLink(page, email, /confirm/i);
    await page.getByTestId("balance").waitFor();

    await page.getByRole("button", { name: "Buy now" }).click();
    await page.waitForURL(/\/simulator\/checkout\/cs_sim_/);
    await page.getByRole("button", { name: "Pay $3.00 (simulated)" }).click();
    await page.getByText("Payment complete").waitFor();

    await page.getByRole("link", { name: "Account" }).click();
    await page.getByRole("heading", { name: "Your account" }).waitFor();
    const purchase = page.getByTestId("purchase");
    await purchase.waitFor();
    expect(await purchase.textContent()).toContain("$3.00");
    const receiptPage = page.context().waitForEvent("page");
    await purchase.getByRole("link", { name: "Receipt" }).click();
    const receipt = await receiptPage;
    await receipt.getByRole("heading", { name: "Receipt" }).waitFor();
    expect(await receipt.textContent("body")).toContain(email);
    await receipt.close();
    await screenshotBoth(page, "24-account-page");

    await page.getByLabel("Current password").fill("not my password");
    await page.getByLabel("New password", { exact: true }).fill("changed password 1");
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("The current password is wrong").waitFor();
    await page.getByLabel("Current password").fill(password);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("Password changed.").waitFor();

    await page.getByRole("button", { name: "Delete my account…" }).click();
    await page.getByLabel("Your password, to confirm").fill("changed password 1");
    await screenshotBoth(page, "25-delete-account");
    await page.getByRole("button", { name: "Delete my account for good" }).click();
    await page.getByRole("heading", { name: "Sign in to Coinslot" }).waitFor();
    await signIn(page, email, "changed password 1");
    await page.getByText("The email or the password is wrong").waitFor();
    expect(problems).toEqual([]);
  });
});
