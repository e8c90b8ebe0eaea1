import { Hono } from "hono";
import type { Pool } from "../db/pool.js";
import { errorBody } from "../kit/errors.js";

const healthTimeoutMs = 2_000;

/** `GET /healthz`: 200 when the database answers within two seconds, 503 otherwise. */
export function healthRoutes(pool: Pool): Hono {
  return new Hono().get("/healthz", async (context) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        pool.query("select 1"),
        new Promise((_, fail) => {
          timer = setTimeout(() => fail(new Error("timeout")), healthTimeoutMs);
        }),
      ]);
      return context.json({ status: "ok" });
    } catch {
      return context.json(
        {
          status: "unavailable",
          ...errorBody(
            "DATABASE_UNAVAILABLE",
            "The database does not answer; check DATABASE_URL or restart Coinslot.",
          ),
        },
        503,
      );
    } finally {
      clearTimeout(timer);
    }
  });
}
