import type { Context } from "hono";
import { z } from "zod";
import type { Config } from "../config.js";
import { parseInput, parseJsonText } from "../kit/validation.js";
import type { Logger } from "../logger.js";
import { type Auth, authBasePath, passwordLengthLimits } from "./better-auth.js";
import { clientAddress, clientAddressHeader, proxyHeaderWarning } from "./client-address.js";
import { inCoinslotShape } from "./errors.js";

const required = (what: string) => ({
  error: (issue: { input: unknown }) => (issue.input === undefined ? "is required" : `must be ${what}`),
});

const email = z.string(required("text")).trim().min(3, "must be an email address").max(320, "is too long");
const { min, max } = passwordLengthLimits;
const newPassword = z
  .string(required("text"))
  .min(min, `must be at least ${min} characters`)
  .max(max, `must be at most ${max} characters`);
// A path on this site (Better Auth also refuses other origins); where a link in a mail leads back to.
const returnPath = z.string(required("text")).max(500, "is too long").optional();
// The tokens Better Auth issues are a few dozen characters; anything long is not one.
const token = z.string(required("text")).min(1, "must not be empty").max(200, "is not a token we issued");

// Checked here, before Better Auth, so a malformed body gets a 400 that names each field. Better Auth
// still applies its own rules after these; unknown fields (callbackURL, rememberMe) pass through.
const bodyRules: Record<string, z.ZodType> = {
  [`${authBasePath}/sign-up/email`]: z.object({
    email,
    password: newPassword,
    name: z.string(required("text")).trim().min(1, "must not be empty").max(100, "is too long"),
    callbackURL: returnPath,
  }),
  [`${authBasePath}/request-password-reset`]: z.object({ email, redirectTo: returnPath }),
  [`${authBasePath}/reset-password`]: z.object({ token, newPassword }),
  [`${authBasePath}/send-verification-email`]: z.object({ email, callbackURL: returnPath }),
  [`${authBasePath}/change-password`]: z.object({
    currentPassword: z.string(required("text")).max(1_024, "is too long"),
    newPassword,
    revokeOtherSessions: z.boolean({ error: "must be true or false" }).optional(),
  }),
  [`${authBasePath}/delete-user`]: z.object({
    password: z.string(required("text")).max(1_024, "is too long").optional(),
  }),
  [`${authBasePath}/sign-in/email`]: z.object({
    email,
    // No length rule on sign-in: any wrong password gets the same generic 401.
    password: z.string(required("text")).max(1_024, "is too long"),
  }),
};

async function forwardedRequest(context: Context, config: Config): Promise<Request> {
  const headers = new Headers(context.req.raw.headers);
  headers.delete(clientAddressHeader);
  const address = clientAddress(context, config.clientIpHeader);
  if (address) headers.set(clientAddressHeader, address);
  const rule = context.req.method === "POST" ? bodyRules[context.req.path] : undefined;
  if (!rule) return new Request(context.req.raw, { headers });
  const text = await context.req.text();
  parseInput(rule, parseJsonText(text));
  headers.set("content-type", "application/json");
  return new Request(context.req.url, { method: "POST", headers, body: text });
}

/**
 * Better Auth's handler for `/api/auth/*`, wrapped: the client's address comes from the socket (or
 * a trusted proxy header), sign-up and sign-in bodies are validated with named fields, and every error
 * leaves in Coinslot's shape with Better Auth's status.
 */
export function authHandler(options: { auth: Auth; config: Config; logger: Logger }) {
  const warnIfProxied = proxyHeaderWarning({
    logger: options.logger,
    trustedHeader: options.config.clientIpHeader,
  });
  return async (context: Context): Promise<Response> => {
    warnIfProxied(context);
    const request = await forwardedRequest(context, options.config);
    const response = await options.auth.handler(request);
    return inCoinslotShape(response, options.logger);
  };
}
