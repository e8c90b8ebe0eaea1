import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const sourceDirectory = join(root, "web");
// The web app bundles these too (pure modules such as the money formatter), so they date the build as well.
const sharedDirectory = join(root, "src", "kit");
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

/** Why dist/web must be rebuilt, or null when it is newer than everything under web/ and src/kit/ (which the web app imports from). */
export function webBuildStaleReason(): string | null {
  if (!existsSync(builtPage)) return "the web app has not been built yet";
  const builtMs = statSync(builtPage).mtimeMs;
  if (newestChangeMs(sourceDirectory) > builtMs) return "web/ changed since the last build";
  if (newestChangeMs(sharedDirectory) > builtMs) return "src/kit/ changed since the last build";
  return null;
}

/**
 * Builds the web app into dist/web when it is missing or stale, and says why; returns null (without
 * loading Vite, a dev dependency) when the build is current, as in production after `npm run build`.
 */
export async function ensureWebBuild(): Promise<string | null> {
  const reason = webBuildStaleReason();
  if (!reason) return null;
  let vite: typeof import("vite");
  try {
    vite = await import("vite");
  } catch {
    throw new Error(
      "Vite is not installed, so the web app cannot be built here. Run `npm install` (with dev dependencies) and `npm run build`, or ship dist/web with the server.",
    );
  }
  // Vite bundles React's development build when NODE_ENV says so (vitest sets "test"): force production.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    await vite.build({
      configFile: join(sourceDirectory, "vite.config.ts"),
      mode: "production",
      logLevel: "warn",
    });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  return reason;
}
