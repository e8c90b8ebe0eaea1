import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { eraseUser } from "../account/erase.js";
import { accountRoutes } from "../account/routes.js";
import { adminRoutes } from "../admin/routes.js";
import { chatRoutes } from "../ai/routes.js";
import { alertRoutes } from "../alerts/routes.js";
import { authRoutes } from "../auth/routes.js";
import { billingRoutes } from "../billing/routes.js";
import type { Dependencies } from "../dependencies.js";
import { personalKeyRoutes } from "../gateway/key-routes.js";
import { gatewayRoutes } from "../gateway/routes.js";
import { limitApiBodies } from "../kit/body-limit.js";
import { AppError, errorBody } from "../kit/errors.js";
import { openHoldTotals } from "../ledger/index.js";
import { mailboxRoutes } from "../mail/mailbox-routes.js";
import { serviceKeyAdminRoutes } from "../metering/admin-routes.js";
import { meteringRoutes } from "../metering/routes.js";
import { measureRequests, metricsRoutes } from "../metrics/routes.js";
import { promoRoutes } from "../promo/routes.js";
import { webhookAdminRoutes } from "../webhooks/admin-routes.js";
import { healthRoutes } from "./health.js";
import { publicConfigRoutes } from "./public-config.js";
import { webAppRoutes } from "./static.js";

/**
 * The whole HTTP surface. Every capability mounts its routes here; errors of any route become
 * `{"error":{"code","message"}}` and anything unexpected is logged and answered 500 without internals.
 */
export function createApp(dependencies: Dependencies): Hono {
  const { logger } = dependencies;
  const app = new Hono();

  app.use("*", measureRequests());
  app.route("/", healthRoutes(dependencies.pool));
  app.route("/", publicConfigRoutes(dependencies.config));
  app.route(
    "/",
    metricsRoutes({
      openHoldTotals: () => openHoldTotals({ pool: dependencies.pool }),
      token: dependencies.config.metricsToken,
      requireToken: dependencies.config.nodeEnv === "production",
    }),
  );

  // Before anything reads a body: the chat and Stripe's webhook apply limits of their own.
  app.use("/api/*", limitApiBodies(["/api/chat", "/api/stripe/webhook"]));

  // First of the /api routes: its session gate and origin check must run before every other handler.
  app.route("/", authRoutes(dependencies, { eraseUser: (user) => eraseUser(dependencies.pool, user.id) }));
  app.route("/", billingRoutes(dependencies));
  app.route("/", chatRoutes(dependencies));
  app.route("/api", adminRoutes(dependencies));
  app.route("/api", serviceKeyAdminRoutes(dependencies));
  app.route("/api", webhookAdminRoutes(dependencies));
  app.route("/", accountRoutes(dependencies));
  app.route("/", personalKeyRoutes(dependencies));
  app.route("/", promoRoutes(dependencies));
  app.route("/", alertRoutes(dependencies));

  // Server to server, outside /api: a key instead of a session, and no Origin to check. The gateway
  // first: its two paths take personal keys too, and the metering API's gate covers the rest of /v1.
  app.route("/", gatewayRoutes(dependencies));
  app.route("/", meteringRoutes(dependencies));

  // The local mailbox (404 unless config.mail.localMailbox): before the web app, which would answer its page.
  app.route("/", mailboxRoutes(dependencies));

  // Last: the web app answers every other GET with its page, never a path the server owns.
  app.route("/", webAppRoutes());

  app.notFound((context) =>
    context.json(errorBody("NOT_FOUND", `No route for ${context.req.method} ${context.req.path}.`), 404),
  );

  app.onError((error, context) => {
    if (error instanceof AppError) {
      return context.json(errorBody(error.code, error.message, error.details), error.status);
    }
    if (error instanceof HTTPException && error.status < 500) {
      return context.json(
        errorBody("BAD_REQUEST", error.message || "The request could not be read."),
        error.status,
      );
    }
    logger.error({ err: error, method: context.req.method, path: context.req.path }, "request failed");
    return context.json(
      errorBody("INTERNAL", "Something went wrong on our side. Try again in a moment."),
      500,
    );
  });

  return app;
}
