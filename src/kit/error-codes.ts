/**
 * Every error code Coinslot answers, with the one HTTP status it always has. A code names a
 * situation a client can act on, so a client (the web app imports `ErrorCode` as a type) can rely
 * on it; the message that comes with it says what to do next. Add a code here before throwing it.
 */
export const errorStatus = {
  // The request itself
  INVALID_REQUEST: 400,
  INVALID_JSON: 400,
  INVALID_AMOUNT: 400,
  INVALID_ARGUMENT: 400,
  INVALID_IDEMPOTENCY_KEY: 400,
  BAD_REQUEST: 400,
  MESSAGE_TOO_LONG: 400,
  PAYLOAD_TOO_LARGE: 413,
  NOT_FOUND: 404,
  CROSS_SITE_REQUEST: 403,
  RATE_LIMITED: 429,

  // Who is asking
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  INVALID_EMAIL_OR_PASSWORD: 401,
  EMAIL_ALREADY_REGISTERED: 422,
  INVALID_EMAIL: 400,
  PASSWORD_TOO_SHORT: 400,
  PASSWORD_TOO_LONG: 400,
  // The account lifecycle (Better Auth's codes, renamed where Coinslot says it better).
  EMAIL_NOT_VERIFIED: 403,
  EMAIL_ALREADY_VERIFIED: 400,
  INVALID_OR_EXPIRED_LINK: 400,
  WRONG_PASSWORD: 400,
  NO_PASSWORD: 400,
  SIGN_IN_AGAIN: 400,
  PASSWORD_REQUIRED: 400,
  METRICS_DISABLED: 403,
  // The metering API: a missing, malformed, unknown or revoked `Authorization: Bearer csk_...`.
  INVALID_SERVICE_KEY: 401,
  SERVICE_KEY_NOT_FOUND: 404,
  // A person's own API keys (cpk_..., the gateway's): one that is not theirs, or one too many live ones.
  KEY_NOT_FOUND: 404,
  TOO_MANY_KEYS: 409,

  // The ledger
  ACCOUNT_NOT_FOUND: 404,
  INSUFFICIENT_CREDITS: 402,
  SPEND_LIMIT_REACHED: 402,
  HOLD_NOT_FOUND: 404,
  HOLD_NOT_OPEN: 409,
  IDEMPOTENCY_KEY_REUSED: 409,

  // The metering API's customers: an app's user id that is not (or cannot become) a customer.
  CUSTOMER_NOT_FOUND: 404,
  CUSTOMER_CONFLICT: 409,

  // Chat
  CHAT_IN_PROGRESS: 409,

  // Promo codes: redeeming one (unknown, no longer valid, used up, already used by this account), making one.
  PROMO_CODE_NOT_FOUND: 404,
  PROMO_CODE_EXPIRED: 410,
  PROMO_CODE_DISABLED: 410,
  PROMO_CODE_USED_UP: 409,
  PROMO_CODE_ALREADY_REDEEMED: 409,
  PROMO_CODE_EXISTS: 409,

  // The gateway (/v1/chat/completions): answered in OpenAI's error shape.
  INVALID_API_KEY: 401,
  MODEL_NOT_FOUND: 404,
  MONTHLY_LIMIT_REACHED: 402,
  REQUEST_IN_PROGRESS: 409,
  // The model's provider failed before answering: nothing was charged.
  UPSTREAM_FAILED: 502,

  // Buying and refunds
  CHECKOUT_NOT_CONFIGURED: 503,
  // POST /v1/checkout: a returnUrl whose origin is not in CHECKOUT_RETURN_ORIGINS (never an open redirect).
  RETURN_URL_NOT_ALLOWED: 400,
  STRIPE_UNAVAILABLE: 502,
  PAYMENT_NOT_FOUND: 404,
  PAYMENT_NOT_PAID: 409,
  PAYMENT_NEEDS_ATTENTION: 409,
  ALREADY_REFUNDED: 409,
  REFUND_IN_PROGRESS: 409,
  NOT_SIMULATED: 409,
  MISSING_SIGNATURE: 400,
  INVALID_SIGNATURE: 400,
  // Applying a verified event failed: a 5xx so that Stripe (or the simulator) delivers it again.
  WEBHOOK_NOT_APPLIED: 500,
  // The admin's simulated refund: its event reached the webhook, which did not apply it.
  REFUND_NOT_APPLIED: 502,

  // Our side
  ACCOUNT_UNAVAILABLE: 500,
  DATABASE_UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;
export type ErrorStatus = (typeof errorStatus)[ErrorCode];

/** Whether `code` is one of Coinslot's codes (a code from elsewhere, like Better Auth's, may not be). */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorStatus, code);
}
