import { randomBytes } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, screenshotBoth, watchConsole } from "./support/browser.js";
import { startWebServer, type WebServer } from "./support/web-server.js";

// The chat a person uses, in Chromium with the demo model (it writes Markdown, word by word every
// 20 ms): answers rendered as Markdown and never as the model's HTML, Stop, retry after an error,
// and saved conversations renamed, deleted and priced.
const password = "correct horse battery staple";
// A signed-out page asks /api/me first (401); the retry test answers one chat with a 500 on purpose.
const expectedErrors = [/status of 401.*\/api\/me/, /status of 500/];

let server: WebServer;
let browser: Browser;
const consoleProblemsOf = new Map<Page, string[]>();

beforeAll(async () => {
  [server, browser] = await Promise.all([startWebServer(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function signedUpPage(url = server.url): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    permissions: ["clipboard-read", "clipboard-write"],
  });
  const page = await context.newPage();
  consoleProblemsOf.set(page, watchConsole(page, expectedErrors));
  await page.goto(url);
  await page.getByRole("button", { name: "Create an account" }).click();
  await page.getByLabel("Name").fill("Chat Person");
  await page.getByLabel("Email").fill(`chat-${randomBytes(4).toString("hex")}@example.com`);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByTestId("balance").waitFor();
  return page;
}

const consoleProblems = (page: Page) => consoleProblemsOf.get(page) ?? [];

async function balanceCents(page: Page): Promise<number> {
  const text = (await page.getByTestId("balance").textContent()) ?? "";
  return Math.round(Number(text.replace(/[^0-9.-]/g, "")) * 100);
}

async function ask(page: Page, question: string): Promise<void> {
  await page.getByLabel("Your question").fill(question);
  await page.getByRole("button", { name: "Send" }).click();
}

/** Waits for the answer's cost line and returns the cents it names. */
async function chargedCents(page: Page): Promise<number> {
  const cost = page.getByTestId("answer-cost").last();
  await cost.waitFor();
  const charged = /Cost \$(\d+\.\d\d)/.exec((await cost.textContent()) ?? "");
  expect(charged).not.toBeNull();
  return Math.round(Number(charged?.[1]) * 100);
}

describe("answers as Markdown", () => {
  it("renders the answer's Markdown, shows the model's HTML as text, and copies code", async () => {
    const page = await signedUpPage();
    const question =
      'Is <img src=x onerror="window.pwned=1"> or <script>window.pwned=2</script> safe? ' +
      "See [docs](https://example.com/docs) and [bad](javascript:window.pwned=3)";
    await ask(page, question);
    await page.getByTestId("answer-cost").waitFor();
    const answer = page.locator(".message-assistant .bubble");

    expect(await answer.locator("strong").first().textContent()).toBe("demo model");
    expect(await answer.locator("li").count()).toBe(2);
    const link = answer.locator('a[href="https://example.com/docs"]');
    expect(await link.textContent()).toBe("docs");
    expect(await link.getAttribute("target")).toBe("_blank");
    expect(await link.getAttribute("rel")).toBe("noopener noreferrer");
    expect(await answer.locator('a[href^="javascript"]').count()).toBe(0);

    // The HTML the answer quotes is text on the page: no element, nothing ran.
    expect(await answer.locator("img, script").count()).toBe(0);
    const shown = (await answer.textContent()) ?? "";
    expect(shown).toContain('<img src=x onerror="window.pwned=1">');
    expect(shown).toContain("<script>window.pwned=2</script>");
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();

    // The person's own message stays plain text, exactly as typed.
    const mine = page.locator(".message-user .bubble");
    expect(await mine.textContent()).toBe(question);
    expect(await mine.locator("a, strong, img").count()).toBe(0);

    const code = answer.locator('[data-streamdown="code-block"]');
    expect(await code.textContent()).toContain("AI_MODEL=google:gemini-2.0-flash");
    await code.locator('[data-streamdown="code-block-copy-button"]').click();
    await expect
      .poll(() => page.evaluate(() => navigator.clipboard.readText()))
      .toMatch(/^AI_MODEL=google:gemini-2\.0-flash\nGOOGLE_GENERATIVE_AI_API_KEY=your-key\n?$/);
    await screenshotBoth(page, "11-markdown-answer");
    expect(consoleProblems(page)).toEqual([]);
  });
});

describe("Stop and retry", () => {
  // Its own server whose demo model writes a word every 150 ms: at 20 ms a loaded machine can finish
  // the whole answer before the Stop button is clicked. Started and closed in hooks, so a slow start
  // on a loaded machine is not counted against the test, and a close that hangs is named as such.
  let slow: WebServer;
  beforeAll(async () => {
    slow = await startWebServer({ DEMO_WORD_DELAY_MS: "150" });
  });
  afterAll(async () => {
    await slow?.close();
  });

  // Above every step's own timeout put together, so a step that hangs names itself in the failure.
  it("stops a streaming answer, which then shows what it cost", { timeout: 150_000 }, async () => {
    await stopHalfway(await signedUpPage(slow.url));
  });

  async function stopHalfway(page: Page) {
    await ask(page, "Please write a long answer that I will stop halfway");
    const answer = page.locator(".message-assistant .bubble");
    await expect
      .poll(async () => (await answer.textContent()) ?? "", { timeout: 10_000 })
      .toContain("demo model");
    await page.getByRole("button", { name: "Stop" }).click();
    await page.getByRole("button", { name: "Send" }).waitFor();

    const cost = page.getByTestId("answer-cost");
    await expect
      .poll(() => cost.textContent(), { timeout: 10_000 })
      .toMatch(/^Cost \$\d+\.\d\d · stopped early, charged for what was written$/);
    const charged = await chargedCents(page);
    expect(charged).toBeGreaterThan(0);
    // Only part of the answer was written, and the balance paid for exactly that.
    expect((await answer.textContent()) ?? "").not.toContain("OPENAI_API_KEY");
    await expect.poll(() => balanceCents(page), { timeout: 5_000 }).toBe(50 - charged);
    expect(await page.getByTestId("held").count()).toBe(0);
    await screenshotBoth(page, "12-stopped-answer");
    expect(consoleProblems(page)).toEqual([]);
  }

  it("offers to try again after a failed answer, and the retry answers", async () => {
    const page = await signedUpPage();
    let failed = false;
    await page.route("**/api/chat", async (route) => {
      if (failed) return route.continue();
      failed = true;
      await route.fulfill({
        status: 500,
        contentType: "application/json",
        body: JSON.stringify({
          error: { code: "INTERNAL", message: "Something went wrong on our side. Try again in a moment." },
        }),
      });
    });
    await ask(page, "Will this work the second time?");
    await page.getByText("The answer failed").waitFor();
    expect(await page.getByTestId("answer-cost").count()).toBe(0);
    await screenshotBoth(page, "13-answer-failed");

    await page.getByRole("button", { name: "Try again" }).click();
    const charged = await chargedCents(page);
    expect(await page.getByText("The answer failed").count()).toBe(0);
    expect(await page.locator(".message-assistant .bubble").textContent()).toContain("demo model");
    expect(await page.locator(".message-user").count()).toBe(1);
    await expect.poll(() => balanceCents(page), { timeout: 5_000 }).toBe(50 - charged);
    expect(consoleProblems(page).filter((line) => !/status of 500/.test(line))).toEqual([]);
  });
});

describe("Stop before the first word", () => {
  // The demo model waits 10 s before each word here, so Stop always comes before the first one.
  let silent: WebServer;
  beforeAll(async () => {
    silent = await startWebServer({ DEMO_WORD_DELAY_MS: "10000" });
  });
  afterAll(async () => {
    await silent?.close();
  });

  it("shows what the question cost when the answer is stopped before its first word", {
    timeout: 150_000,
  }, async () => {
    const page = await signedUpPage(silent.url);
    await ask(page, "A question whose answer I stop at once");
    // Stop once the answer has begun (its credit reserved, no word yet); a Stop before the server's
    // first chunk is the next case.
    await page.getByText(/^Answering… up to \$\d+\.\d\d reserved$/).waitFor();
    await page.getByRole("button", { name: "Stop" }).click();
    await page.getByRole("button", { name: "Send" }).waitFor();
    const cost = page.getByTestId("answer-cost");
    await expect
      .poll(() => cost.textContent(), { timeout: 15_000 })
      .toMatch(/^Cost \$\d+\.\d\d · stopped before the first word, charged for reading the question$/);
    const charged = await chargedCents(page);
    expect(charged).toBeGreaterThan(0);
    await expect.poll(() => balanceCents(page), { timeout: 5_000 }).toBe(50 - charged);
    expect(await page.getByTestId("held").count()).toBe(0);
    expect(consoleProblems(page)).toEqual([]);
  });

  it("says nothing was charged when Stop comes while the request is still on its way, before the model was called", {
    timeout: 150_000,
  }, async () => {
    const page = await signedUpPage(silent.url);
    const me = await page.request.get(`${silent.url}/api/me`);
    const userId = ((await me.json()) as { user: { id: string } }).user.id;
    // The person's account row held elsewhere: the server's hold waits for it, so the page gets no
    // chunk (the request stays "submitted") until the row is let go.
    const locker = await silent.pool.connect();
    try {
      await locker.query("begin");
      await locker.query("select 1 from credits.accounts where user_id = $1 for update", [userId]);
      await ask(page, "A question I stop before anything comes back");
      await expect
        .poll(
          async () =>
            (
              await silent.pool.query(
                "select count(*)::int as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
              )
            ).rows[0]?.waiting,
          { timeout: 15_000 },
        )
        .toBeGreaterThan(0);
      expect(await page.getByText(/^Answering… up to/).count()).toBe(0);
      await page.getByRole("button", { name: "Stop" }).click();
      await page.getByRole("button", { name: "Send" }).waitFor();
    } finally {
      await locker.query("commit");
      locker.release();
    }
    // The server placed the hold once the row was free, found the page gone and let the hold go.
    const cost = page.getByTestId("answer-cost");
    await expect
      .poll(() => cost.textContent(), { timeout: 15_000 })
      .toBe("Stopped before the answer began — not charged");
    const { rows } = await silent.pool.query("select status from credits.holds where user_id = $1", [userId]);
    expect(rows).toEqual([{ status: "released" }]);
    await expect.poll(() => balanceCents(page), { timeout: 5_000 }).toBe(50);
    expect(await page.locator(".message-user").count()).toBe(1);
    await screenshotBoth(page, "12b-stopped-before-start");
    expect(await page.getByTestId("held").count()).toBe(0);
    // Until the server has written the answer, the page's asks for it are 404s (and the browser logs them).
    expect(consoleProblems(page).filter((line) => !/404 .*\/questions\/[^/]+\/answer\)$/.test(line))).toEqual(
      [],
    );
  });
});

describe("saved conversations", () => {
  it("shows each conversation's total cost, renames one and deletes one after asking", async () => {
    const page = await signedUpPage();
    await ask(page, "First question of the first chat");
    let firstTotal = await chargedCents(page);
    await ask(page, "Second question of the first chat");
    await expect.poll(() => page.getByTestId("answer-cost").count(), { timeout: 10_000 }).toBe(2);
    firstTotal += await chargedCents(page);
    await page.getByRole("button", { name: "New chat" }).click();
    await ask(page, "Only question of the second chat");
    const secondTotal = await chargedCents(page);

    await page.getByRole("link", { name: "Conversations" }).click();
    const first = page.getByTestId("conversation").filter({ hasText: "First question of the first chat" });
    const second = page.getByTestId("conversation").filter({ hasText: "Only question of the second chat" });
    await first.waitFor();
    expect(await first.getByTestId("conversation-cost").textContent()).toBe(
      `$${(firstTotal / 100).toFixed(2)}`,
    );
    expect(await second.getByTestId("conversation-cost").textContent()).toBe(
      `$${(secondTotal / 100).toFixed(2)}`,
    );

    await first.getByRole("button", { name: "Rename" }).click();
    // While renamed, the row holds the title in its input, so it is found by that.
    const renaming = page.getByTestId("conversation").filter({ has: page.getByLabel("New title") });
    expect(await renaming.getByLabel("New title").inputValue()).toBe("First question of the first chat");
    await renaming.getByLabel("New title").fill("  Ledger basics  ");
    await renaming.getByRole("button", { name: "Save" }).click();
    const renamed = page.getByTestId("conversation").filter({ hasText: "Ledger basics" });
    await renamed.getByRole("button", { name: "Rename" }).waitFor();
    expect(await renamed.locator(".conversation-title").textContent()).toBe("Ledger basics");
    await screenshotBoth(page, "14-conversations-priced");

    await second.getByRole("button", { name: "Delete" }).click();
    await second.getByText("What its answers cost stays in your history.").waitFor();
    await second.getByRole("button", { name: "Keep it" }).click();
    expect(await second.count()).toBe(1);
    await second.getByRole("button", { name: "Delete" }).click();
    await second.getByRole("button", { name: "Delete conversation" }).click();
    await expect.poll(() => second.count(), { timeout: 5_000 }).toBe(0);

    // Both survive a reload as changed; the deleted answer's charge stays in the history.
    await page.reload();
    await renamed.waitFor();
    expect(await page.getByTestId("conversation").count()).toBe(1);
    await page.getByRole("link", { name: "History" }).click();
    await expect.poll(() => page.locator("tr[data-kind=usage]").count(), { timeout: 5_000 }).toBe(3);
    expect(consoleProblems(page)).toEqual([]);
  });
});
