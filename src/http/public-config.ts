import { Hono } from "hono";
import type { Config } from "../config.js";

/** What the signed-out web app needs before anyone signs in; nothing here is secret. */
export type PublicConfig = {
  topup: Config["topup"];
  currency: string;
  googleEnabled: boolean;
  newUserCreditsCents: number;
  /** Sign-up then waits for the emailed link (and says so), and starter credits with it. */
  requireEmailVerification: boolean;
  /** Mail stays on this machine, readable at /dev/mailbox: the sign-up page links there. */
  localMailbox: boolean;
};

export function publicConfig(config: Config): PublicConfig {
  return {
    topup: config.topup,
    currency: config.currency,
    googleEnabled: Boolean(config.googleClientId && config.googleClientSecret),
    newUserCreditsCents: config.newUserCreditsCents,
    requireEmailVerification: config.requireEmailVerification,
    localMailbox: config.mail.localMailbox,
  };
}

/**
 * `GET /api/config`: public UI settings (top-up limits, currency, whether Google sign-in is on).
 * The session middleware exempts it, so the sign-in page can read it.
 *
 * @example
 * app.route("/", publicConfigRoutes(config));
 */
export function publicConfigRoutes(config: Config): Hono {
  const body = publicConfig(config);
  const app = new Hono();
  app.get("/api/config", (context) => context.json(body));
  return app;
}
