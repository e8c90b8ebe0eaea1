import { Hono } from "hono";
import type { Dependencies } from "../dependencies.js";
import { limitBody } from "../kit/body-limit.js";
import { authBasePath, createAuth } from "./better-auth.js";
import { authHandler } from "./handler.js";
import type { LifecycleDependencies } from "./lifecycle.js";
import { sameOriginOnly } from "./same-origin.js";
import { requireUser } from "./session.js";
import type { AuthedEnv } from "./types.js";

/** `/api/*` paths anyone may call: sign-in itself, the public UI settings, and Stripe's deliveries. */
export const publicApiPaths = ["/api/config", "/api/stripe/webhook"];
const isPublic = (path: string) => path.startsWith(`${authBasePath}/`) || publicApiPaths.includes(path);

// Sign-up and sign-in bodies are a few hundred bytes; anything far larger is not a person signing in.
const authBodyLimitBytes = 16 * 1024;

/**
 * Sign-in and the gate in front of every other `/api/*` route. Mount it before any other capability:
 * its middleware must run first. Better Auth answers `/api/auth/*`; every other `/api/*` request
 * (except `publicApiPaths`) needs a session and sees `context.get("user")`; cross-site POSTs are
 * refused everywhere under `/api/*` except Stripe's webhook.
 *
 * @example
 * app.route("/", authRoutes(dependencies));
 */
export function authRoutes(
  dependencies: Dependencies,
  options: Pick<LifecycleDependencies, "eraseUser"> = {},
): Hono<AuthedEnv> {
  const { config, pool, logger, ledger } = dependencies;
  const auth = createAuth({ config, pool, logger, ledger, ...options });
  const gate = requireUser({ auth, config, ledger, logger, pool });
  const routes = new Hono<AuthedEnv>();

  routes.use("/api/*", sameOriginOnly({ appUrl: config.appUrl, exempt: ["/api/stripe/webhook"] }));
  routes.use(
    `${authBasePath}/*`,
    limitBody({ maxBytes: authBodyLimitBytes, advice: "A sign-up or sign-in body is a few hundred bytes." }),
  );
  routes.on(["GET", "POST"], `${authBasePath}/*`, authHandler({ auth, config, logger }));
  routes.use("/api/*", (context, next) => (isPublic(context.req.path) ? next() : gate(context, next)));

  return routes;
}
