import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { serveStatic } from "@hono/node-server/serve-static";
import { Hono, type MiddlewareHandler } from "hono";
import { homePage } from "./home.js";

/** Where `npm run build` puts the web app (see web/vite.config.ts). */
export const webBuildDirectory = resolve(import.meta.dirname, "../../dist/web");

// Paths the server answers itself: the SPA must never shadow them, or a typo in an API path would
// come back as an HTML page with status 200 instead of a JSON 404.
const serverPrefixes = ["/api", "/healthz", "/metrics", "/simulator"];

function isServerPath(path: string): boolean {
  return serverPrefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

function looksLikeFile(path: string): boolean {
  return /\.[a-z0-9]{1,8}$/i.test(path);
}

// Browsers ask for text/html when they navigate; API clients and scripts that mistype a path get the
// JSON 404 they can read instead of a page.
function wantsPage(accept: string | undefined): boolean {
  return accept?.includes("text/html") ?? false;
}

/**
 * Serves the built web app, and `index.html` for every other GET a browser navigates to, so that client
 * routes such as `/admin` survive a reload. Without a build, `/` explains how to make one.
 *
 * @example
 * app.route("/", webAppRoutes()); // after every other route
 */
export function webAppRoutes(directory: string = webBuildDirectory): Hono {
  const indexPath = join(directory, "index.html");
  const app = new Hono();
  let files: MiddlewareHandler | undefined;

  app.get("*", async (context, next) => {
    const path = context.req.path;
    if (isServerPath(path)) return next();
    if (!existsSync(indexPath)) {
      if (path !== "/") return next();
      return context.html(homePage({ webBuildMissing: true }));
    }
    // Hashed assets never change under their name; the page itself must always be revalidated so a
    // new build is picked up at once.
    context.header(
      "Cache-Control",
      path.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
    );
    files ??= serveStatic({ root: directory });
    const served = await files(context, async () => {});
    if (served) return served;
    if (looksLikeFile(path) || !wantsPage(context.req.header("accept"))) return next();
    context.header("Cache-Control", "no-cache");
    return context.html(readFileSync(indexPath, "utf8"));
  });

  return app;
}
