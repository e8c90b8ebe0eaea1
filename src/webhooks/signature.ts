import { createHmac } from "node:crypto";

/** The header every delivery carries: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const signatureHeader = "Coinslot-Signature";

/**
 * The signing secret of the endpoint at `url`: derived from AUTH_SECRET, never stored, so a leaked
 * database or backup signs nothing and every server computes the same one. The receiver keys its
 * HMAC with the whole string, `whsec_` included. Rotating AUTH_SECRET rotates every endpoint's
 * secret; to rotate one alone, change its URL (a query parameter such as `?v=2` will do).
 *
 * @example
 * webhookSecret({ authSecret: config.authSecret, url: "https://app.example.com/coinslot" }); // "whsec_3f9c…"
 */
export function webhookSecret(input: { authSecret: string; url: string }): string {
  const derived = createHmac("sha256", input.authSecret).update(`webhook:${input.url}`).digest("hex");
  return `whsec_${derived}`;
}

/**
 * The `Coinslot-Signature` value for `body` sent at `timestampSeconds`: Stripe's scheme, so a
 * receiver can check the timestamp against a tolerance and reject replays of old deliveries.
 *
 * @example
 * signWebhook({ secret, body: JSON.stringify(event), timestampSeconds: Math.floor(Date.now() / 1000) });
 */
export function signWebhook(input: { secret: string; body: string; timestampSeconds: number }): string {
  const signed = `${input.timestampSeconds}.${input.body}`;
  const v1 = createHmac("sha256", input.secret).update(signed).digest("hex");
  return `t=${input.timestampSeconds},v1=${v1}`;
}
