/**
 * Run by `npm start` before the server: builds the web app when dist/web is missing or older than
 * anything under web/, so a fresh clone or an edited component never serves a stale page.
 * Does nothing (and never loads Vite) when the build is current, as in production after `npm run build`.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const sourceDirectory = join(root, "web");
const builtPage = join(root, "dist", "web", "index.html");

function newestChangeMs(directory: string): number {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    const changed = entry.isDirectory() ? newestChangeMs(path) : statSync(path).mtimeMs;
    newest = Math.max(newest, changed);
  }
  return newest;
}

function staleReason(): string | null {
  if (!existsSync(builtPage)) return "the web app has not been built yet";
  if (newestChangeMs(sourceDirectory) > statSync(builtPage).mtimeMs)
    return "web/ changed since the last build";
  return null;
}

async function main(): Promise<void> {
  const reason = staleReason();
  if (!reason) return;
  process.stdout.write(`Building the web app (${reason})…\n`);
  let vite: typeof import("vite");
  try {
    vite = await import("vite");
  } catch {
    throw new Error(
      "Vite is not installed, so the web app cannot be built here. Run `npm install` (with dev dependencies) and `npm run build`, or ship dist/web with the server.",
    );
  }
  await vite.build({ configFile: join(sourceDirectory, "vite.config.ts"), logLevel: "warn" });
  process.stdout.write("Web app built into dist/web.\n");
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
