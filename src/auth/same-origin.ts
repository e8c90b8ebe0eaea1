import type { MiddlewareHandler } from "hono";
import { AppError } from "../kit/errors.js";

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses state-changing requests that a browser sent from another site: an `Origin` other than
 * APP_URL's, an opaque `null` origin, or `Sec-Fetch-Site: cross-site` when no Origin is sent. Requests
 * without either header come from programs, not from a page the user visited, and carry no ambient
 * browser credentials an attacker could borrow.
 *
 * Unlike `hono/csrf`, JSON bodies are checked too: `text/plain` and form posts are not the only way a
 * misconfigured CORS setup, or a future route that accepts them, could be reached cross-site.
 *
 * @example
 * app.use("/api/*", sameOriginOnly({ appUrl: config.appUrl, exempt: ["/api/stripe/webhook"] }));
 */
export function sameOriginOnly(options: { appUrl: string; exempt: string[] }): MiddlewareHandler {
  const allowedOrigin = new URL(options.appUrl).origin;
  return async (context, next) => {
    if (safeMethods.has(context.req.method) || options.exempt.includes(context.req.path)) return next();
    const origin = context.req.header("origin");
    const site = context.req.header("sec-fetch-site");
    const crossSite = origin !== undefined ? origin !== allowedOrigin : site === "cross-site";
    if (crossSite) {
      throw new AppError(
        "CROSS_SITE_REQUEST",
        `This request came from another site (${origin ?? site}); send it from ${allowedOrigin}.`,
      );
    }
    return next();
  };
}
