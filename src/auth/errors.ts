import { errorBody } from "../kit/errors.js";
import type { Logger } from "../logger.js";

type Translation = { code: string; message: string };

// Better Auth's codes are already UPPER_SNAKE and stable; these get a message that says what to do
// next, and a few are renamed to the code the rest of Coinslot uses for the same situation.
const known: Record<string, Translation> = {
  // One answer for "no such email" and "wrong password", so sign-in never reveals who is registered.
  INVALID_EMAIL_OR_PASSWORD: {
    code: "INVALID_EMAIL_OR_PASSWORD",
    message: "The email or the password is wrong. Check both and try again.",
  },
  USER_ALREADY_EXISTS: {
    code: "EMAIL_ALREADY_REGISTERED",
    message: "An account with this email already exists. Sign in instead.",
  },
  USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL: {
    code: "EMAIL_ALREADY_REGISTERED",
    message: "An account with this email already exists. Sign in instead.",
  },
  EMAIL_NOT_VERIFIED: {
    code: "EMAIL_NOT_VERIFIED",
    message:
      "Confirm your email address first: we have sent you a new link. Follow it, and you are signed in.",
  },
  EMAIL_ALREADY_VERIFIED: {
    code: "EMAIL_ALREADY_VERIFIED",
    message: "Your email address is already confirmed; there is nothing more to do.",
  },
  INVALID_TOKEN: {
    code: "INVALID_OR_EXPIRED_LINK",
    message: "This link is invalid, has expired or was already used. Ask for a new one.",
  },
  TOKEN_EXPIRED: {
    code: "INVALID_OR_EXPIRED_LINK",
    message: "This link is invalid, has expired or was already used. Ask for a new one.",
  },
  INVALID_PASSWORD: {
    code: "WRONG_PASSWORD",
    message: "The current password is wrong. Type it again, or sign out and use Forgot password.",
  },
  CREDENTIAL_ACCOUNT_NOT_FOUND: {
    code: "NO_PASSWORD",
    message:
      "This account has no password (it signs in with Google). Set one with Forgot password on the sign-in page.",
  },
  SESSION_EXPIRED: {
    code: "SIGN_IN_AGAIN",
    message: "For this, sign in again (or confirm with your password), then retry.",
  },
  PASSWORD_TOO_SHORT: { code: "PASSWORD_TOO_SHORT", message: "Choose a password of at least 8 characters." },
  PASSWORD_TOO_LONG: { code: "PASSWORD_TOO_LONG", message: "Choose a password of at most 128 characters." },
  INVALID_EMAIL: { code: "INVALID_EMAIL", message: "Enter a valid email address." },
  INVALID_ORIGIN: {
    code: "CROSS_SITE_REQUEST",
    message: "This request came from another site; sign in from Coinslot's own page.",
  },
  MISSING_OR_NULL_ORIGIN: {
    code: "CROSS_SITE_REQUEST",
    message: "This request did not say which site sent it; sign in from Coinslot's own page.",
  },
};

const byStatus: Record<number, string> = {
  400: "INVALID_REQUEST",
  401: "UNAUTHENTICATED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  422: "INVALID_REQUEST",
};

function rateLimited(headers: Headers): Translation & { retryAfterSeconds: number } {
  const retryAfterSeconds = Math.max(1, Number(headers.get("x-retry-after")) || 1);
  return {
    code: "RATE_LIMITED",
    message: `Too many attempts. Try again in ${retryAfterSeconds} seconds.`,
    retryAfterSeconds,
  };
}

function readBody(text: string): { code?: unknown; message?: unknown } {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

/**
 * Rewrites an error response of Better Auth into Coinslot's `{"error":{"code","message"}}`, keeping
 * its status. 429 gains a standard `Retry-After`; a 5xx is logged and answered without internals.
 * Successful responses and redirects (OAuth) pass through untouched.
 */
export async function inCoinslotShape(response: Response, logger: Logger): Promise<Response> {
  if (response.status < 400) return response;
  const text = await response.text();
  const upstream = readBody(text);
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  headers.set("content-type", "application/json");
  let translation: Translation;
  if (response.status === 429) {
    const limited = rateLimited(response.headers);
    headers.set("retry-after", String(limited.retryAfterSeconds));
    translation = limited;
  } else if (response.status >= 500) {
    logger.error({ status: response.status, body: text.slice(0, 500) }, "Better Auth failed");
    translation = { code: "INTERNAL", message: "Something went wrong on our side. Try again in a moment." };
  } else {
    const code = typeof upstream.code === "string" ? upstream.code : undefined;
    const message = typeof upstream.message === "string" ? upstream.message : "The request was refused.";
    translation = (code && known[code]) || {
      code: code ?? byStatus[response.status] ?? "AUTH_ERROR",
      message,
    };
  }
  const body = errorBody(translation.code, translation.message);
  return new Response(JSON.stringify(body), { status: response.status, headers });
}
