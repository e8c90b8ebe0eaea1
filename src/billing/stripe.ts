import Stripe from "stripe";
import type { Config } from "../config.js";

export type { Stripe };

/** Stripe's own default: a signature older than five minutes is refused as a possible replay. */
export const signatureToleranceSeconds = 300;

/**
 * The Stripe client when STRIPE_SECRET_KEY is set, or undefined (the offline simulator then takes
 * its place). STRIPE_API_URL points it at another server, such as stripe-mock or a test's recorder.
 *
 * @example
 * const stripe = createStripeClient(config);
 * if (stripe) await stripe.checkout.sessions.retrieve(sessionId);
 */
export function createStripeClient(config: Config): Stripe | undefined {
  if (!config.stripeSecretKey) return undefined;
  const base = config.stripeApiUrl ? new URL(config.stripeApiUrl) : undefined;
  return new Stripe(config.stripeSecretKey, {
    maxNetworkRetries: 2,
    timeout: 20_000,
    telemetry: false,
    ...(base && {
      host: base.hostname,
      port: base.port || (base.protocol === "https:" ? 443 : 80),
      protocol: base.protocol === "https:" ? "https" : "http",
    }),
  });
}

export type VerifiedEvent = { event: Stripe.Event; error: null } | { event: null; error: string };

/**
 * Checks the `Stripe-Signature` header against the raw body and the webhook secret, and the
 * timestamp against the tolerance. Returns what to check when it fails, as a value.
 */
export function verifyEvent(input: { body: Uint8Array; signature: string; secret: string }): VerifiedEvent {
  try {
    const event = Stripe.webhooks.constructEvent(
      Buffer.from(input.body),
      input.signature,
      input.secret,
      signatureToleranceSeconds,
    );
    return { event, error: null };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { event: null, error: reason };
  }
}

/** A `Stripe-Signature` header for `payload`, exactly as Stripe computes it; used by the simulator. */
export function signPayload(input: { payload: string; secret: string; timestampSeconds?: number }): string {
  return Stripe.webhooks.generateTestHeaderString({
    payload: input.payload,
    secret: input.secret,
    ...(input.timestampSeconds !== undefined && { timestamp: input.timestampSeconds }),
  });
}
