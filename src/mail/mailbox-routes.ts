import { type Context, Hono } from "hono";
import type { Config } from "../config.js";
import type { Pool } from "../db/pool.js";
import { AppError } from "../kit/errors.js";
import { findMail, listMail } from "./mailbox.js";
import { mailboxListPage, mailboxMessagePage } from "./mailbox-page.js";

// A page lists the newest messages only: a long-running local server keeps every message it wrote.
const listLimit = 200;

function notFound(httpContext: Context): AppError {
  return new AppError("NOT_FOUND", `No route for ${httpContext.req.method} ${httpContext.req.path}.`);
}

function html(httpContext: Context, body: string) {
  // The pages hold sign-in and password links: never cached, never framed, no script at all.
  httpContext.header("cache-control", "no-store");
  httpContext.header(
    "content-security-policy",
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  );
  httpContext.header("referrer-policy", "no-referrer");
  return httpContext.html(body);
}

/**
 * The local mailbox: `GET /dev/mailbox` lists every message of the outbox newest first, and
 * `GET /dev/mailbox/:id` shows one with its links clickable. Only where `config.mail.localMailbox`
 * (no SMTP_URL, loopback APP_URL or LOCAL_MAILBOX=on, never in production); elsewhere both answer
 * 404 like any unknown path, since the messages hold links that sign a person in.
 *
 * @example
 * app.route("/", mailboxRoutes({ config, pool }));
 */
export function mailboxRoutes(dependencies: { config: Pick<Config, "mail" | "appUrl">; pool: Pool }): Hono {
  const { config, pool } = dependencies;
  const app = new Hono();
  app.get("/dev/mailbox", async (httpContext) => {
    if (!config.mail.localMailbox) throw notFound(httpContext);
    return html(httpContext, mailboxListPage(await listMail(pool, listLimit), config.appUrl));
  });
  app.get("/dev/mailbox/:id", async (httpContext) => {
    if (!config.mail.localMailbox) throw notFound(httpContext);
    const mail = await findMail(pool, httpContext.req.param("id"));
    if (!mail)
      throw new AppError("NOT_FOUND", "No such message in the local mailbox. Go back to /dev/mailbox.");
    return html(httpContext, mailboxMessagePage(mail, config.appUrl));
  });
  return app;
}
