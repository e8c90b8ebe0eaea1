import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

/** Debian's Chromium (CI installs it in .ci/run); playwright's own download cannot run here. */
export function chromiumPath(): string {
  try {
    return execFileSync("which", ["chromium"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(
      "Chromium is not installed, so the browser tests cannot run. Install it with `apt-get install -y chromium` (it must be on PATH as `chromium`).",
    );
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/**
 * Fails the test on anything the page logs as an error or throws, so "no console errors" is checked
 * on every screen. `allowed` lists expected ones (a 401 before sign-in, a 402 that the UI handles).
 */
export function watchConsole(page: Page, allowed: RegExp[] = []): string[] {
  const problems: string[] = [];
  const record = (text: string) => {
    if (!allowed.some((pattern) => pattern.test(text))) problems.push(text);
  };
  page.on("console", (message) => {
    if (message.type() === "error") record(`${message.text()} (${message.location().url})`);
  });
  page.on("pageerror", (error) => record(`uncaught: ${error.message}`));
  return problems;
}

export const screenshotDirectory = join(process.cwd(), "test-results", "screens");

/** Saves the page at desktop (1280) and phone (390) width under test-results/screens/. */
export async function screenshotBoth(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDirectory, { recursive: true });
  const original = page.viewportSize() ?? { width: 1280, height: 800 };
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
    await page.screenshot({ path: join(screenshotDirectory, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize(original);
}
