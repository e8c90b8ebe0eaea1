import { timingSafeEqual } from "node:crypto";
import { Hono, type MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { AppError } from "../kit/errors.js";
import { httpRequests, openHolds, registry } from "./registry.js";

/** Times every request, labelled by the matched route pattern (never the raw path, to bound labels). */
export function measureRequests(): MiddlewareHandler {
  return async (context, next) => {
    const startedAt = performance.now();
    try {
      await next();
    } finally {
      const route = context.res.status === 404 ? "unmatched" : routePath(context);
      httpRequests.observe(
        { method: context.req.method, route, status: String(context.res.status) },
        (performance.now() - startedAt) / 1000,
      );
    }
  };
}

function tokenMatches(given: string | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? "");
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * `GET /metrics` in Prometheus text format; with METRICS_TOKEN set, only for `Authorization: Bearer
 * <token>`, and with `requireToken` (production) not at all without it.
 */
export function metricsRoutes(options: {
  /** How many holds are open and what they reserve, read when scraped (the ledger's reader). */
  openHoldTotals: () => Promise<{ count: number; cents: number }>;
  token: string | undefined;
  /** Production: counts of requests, payments and holds are for the operator, not the public. */
  requireToken: boolean;
}): Hono {
  return new Hono().get("/metrics", async (context) => {
    if (!options.token && options.requireToken) {
      throw new AppError(
        "METRICS_DISABLED",
        "Metrics are off in production until METRICS_TOKEN is set; set it, then send `Authorization: Bearer <token>`.",
      );
    }
    if (options.token) {
      const given = context.req.header("authorization")?.replace(/^Bearer\s+/i, "");
      if (!tokenMatches(given, options.token)) {
        throw new AppError("UNAUTHENTICATED", "Send the METRICS_TOKEN as `Authorization: Bearer <token>`.");
      }
    }
    const holds = await options.openHoldTotals();
    openHolds.set({ measure: "count" }, holds.count);
    openHolds.set({ measure: "cents" }, holds.cents);
    return context.body(await registry.metrics(), 200, { "content-type": registry.contentType });
  });
}
