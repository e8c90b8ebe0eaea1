import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueEmail } from "./support/app.js";
import { launchChromium, screenshotBoth, watchConsole } from "./support/browser.js";
import { usablePersonalKey } from "./support/metering.js";
import { startWebServer, type WebServer } from "./support/web-server.js";

// A person makes an API key with a monthly limit on the "API keys" page, sees its secret once (gone
// once they leave the page), finds it listed with its limit and how to call the gateway with it,
// and revokes it after a confirmation: the gateway's lookup refuses it from then on.
const password = "correct horse battery staple";
// A signed-out page asks /api/me first (401).
const expectedErrors = [/status of 401.*\/api\/me/];

let server: WebServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startWebServer(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe("the API keys page", () => {
  it("creates a key with a limit, shows its secret once, lists it, and revokes it after a confirmation", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    const page = await context.newPage();
    const consoleProblems = watchConsole(page, expectedErrors);

    await page.goto(server.url);
    await page.getByRole("button", { name: "Create an account" }).click();
    await page.getByLabel("Name").fill("Kim Scripts");
    await page.getByLabel("Email").fill(uniqueEmail("keys"));
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByTestId("balance").waitFor();
    await page.getByRole("link", { name: "API keys" }).click();
    await page.getByRole("heading", { name: "API keys" }).waitFor();
    await page.getByText("No API keys yet.").waitFor();
    expect(await page.getByTestId("gateway-base-url").textContent()).toBe(`${server.url}/v1`);
    const curl = (await page.getByTestId("curl-example").textContent()) ?? "";
    expect(curl).toContain(`curl ${server.url}/v1/chat/completions`);
    expect(curl).toContain("Authorization: Bearer cpk_...");

    // Mistakes are named beside their fields before anything is sent.
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByText("Name the script or app that will use it, in 1 to 100 characters.").waitFor();
    await page.getByLabel("Name").fill("laptop script");
    await page.getByLabel("Monthly limit (USD)").fill("ten");
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByText("Enter an amount such as 10.00", { exact: false }).waitFor();
    await page.getByLabel("Monthly limit (USD)").fill("10");
    await page.getByRole("button", { name: "Create key" }).click();

    const shown = page.getByTestId("new-secret");
    await shown.waitFor();
    const secret = (await shown.textContent()) ?? "";
    expect(secret).toMatch(/^cpk_[A-Za-z0-9_-]{43}$/);
    await page.getByText("you will not see it again").waitFor();
    await page.getByRole("button", { name: "Copy", exact: true }).click();
    await page.getByRole("button", { name: "Copied" }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const row = page.locator(`tr[data-key-prefix="${secret.slice(0, 12)}"]`);
    await row.waitFor();
    const listed = (await row.textContent()) ?? "";
    for (const text of ["laptop script", "$10.00", "Never", "Active"]) expect(listed).toContain(text);
    await screenshotBoth(page, "keys-1-created");

    // A script calls the gateway with it (the gateway's own lookup), then the person comes back later.
    expect(await usablePersonalKey(server.pool, secret)).toMatchObject({ monthlyLimitCents: 1000 });
    await page.getByRole("link", { name: "Chat" }).click();
    await page.getByRole("link", { name: "API keys" }).click();
    await row.waitFor();
    expect(await shown.count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    expect(await row.textContent()).toContain("$10.00");
    expect(await row.textContent()).not.toContain("Never");

    await row.getByRole("button", { name: "Revoke" }).click();
    await row.getByRole("button", { name: "Cancel" }).click();
    expect(await usablePersonalKey(server.pool, secret)).not.toBeNull();
    await row.getByRole("button", { name: "Revoke" }).click();
    await row.getByRole("button", { name: "Confirm revoke" }).click();
    await page.getByText("Revoked “laptop script”; its next call is refused.").waitFor();
    await expect.poll(async () => row.getAttribute("data-revoked")).toBe("true");
    expect(await row.textContent()).toMatch(/Revoked /);
    expect(await row.getByRole("button").count()).toBe(0);
    expect(await usablePersonalKey(server.pool, secret)).toBeNull();
    await screenshotBoth(page, "keys-2-revoked");

    await page.reload();
    await row.waitFor();
    expect(await row.getAttribute("data-revoked")).toBe("true");
    expect(consoleProblems).toEqual([]);
    await context.close();
  });
});
