import { randomBytes } from "node:crypto";
import Stripe from "stripe";
import { insertPendingPayment } from "../../src/billing/payments.js";
import type { Pool } from "../../src/db/pool.js";

/** Stripe-shaped objects and signed deliveries for the billing suites. */

export const webhookSecret = "whsec_billing_test_secret";

export function uniqueId(prefix: string): string {
  return `${prefix}${randomBytes(8).toString("hex")}`;
}

export function stripeEvent(type: string, object: Record<string, unknown>, id = uniqueId("evt_")) {
  return {
    id,
    object: "event",
    type,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object },
  };
}

export function checkoutSession(input: {
  id?: string;
  userId: string | null;
  amountCents: number;
  currency?: string;
  paymentStatus?: "paid" | "unpaid" | "no_payment_required";
  paymentIntentId?: string;
}) {
  const id = input.id ?? uniqueId("cs_test_");
  return {
    id,
    object: "checkout.session",
    mode: "payment",
    status: "complete",
    payment_status: input.paymentStatus ?? "paid",
    amount_total: input.amountCents,
    currency: input.currency ?? "usd",
    client_reference_id: input.userId,
    metadata: input.userId ? { user_id: input.userId } : {},
    payment_intent: input.paymentIntentId ?? `pi_for_${id}`,
    livemode: false,
  };
}

/**
 * Records `session` as Coinslot's checkout does when it creates one: only a session recorded with its
 * user, amount and currency is credited. Returns the session for chaining.
 */
export async function recordCheckout<Session extends ReturnType<typeof checkoutSession>>(
  pool: Pool,
  session: Session,
): Promise<Session> {
  await insertPendingPayment(pool, {
    checkoutSessionId: session.id,
    userId: session.client_reference_id as string,
    amountCents: session.amount_total,
    currency: session.currency,
  });
  return session;
}

export function refundedCharge(input: {
  paymentIntentId: string;
  amountCents: number;
  refundedCents: number;
}) {
  return {
    id: `ch_for_${input.paymentIntentId}`,
    object: "charge",
    amount: input.amountCents,
    amount_refunded: input.refundedCents,
    refunded: input.refundedCents === input.amountCents,
    currency: "usd",
    payment_intent: input.paymentIntentId,
    metadata: {},
  };
}

export function dispute(input: { id: string; paymentIntentId: string; amountCents: number; status: string }) {
  return {
    id: input.id,
    object: "dispute",
    amount: input.amountCents,
    currency: "usd",
    charge: `ch_for_${input.paymentIntentId}`,
    payment_intent: input.paymentIntentId,
    status: input.status,
  };
}

/** A webhook request exactly as Stripe sends it: the raw JSON and its `Stripe-Signature`. */
export function signedDelivery(
  event: unknown,
  options: { secret?: string; timestampSeconds?: number; body?: string } = {},
): RequestInit {
  const payload = JSON.stringify(event);
  const signature = Stripe.webhooks.generateTestHeaderString({
    payload,
    secret: options.secret ?? webhookSecret,
    ...(options.timestampSeconds !== undefined && { timestamp: options.timestampSeconds }),
  });
  return {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": signature },
    body: options.body ?? payload,
  };
}

/**
 * Invariant 1 and 4 from the database's point of view: every balance equals the sum of its entries,
 * and no checkout session has more than one purchase entry.
 */
export async function assertLedgerConsistent(pool: Pool): Promise<void> {
  const drift = await pool.query(
    `select a.user_id, a.balance_cents, coalesce(sum(e.amount_cents), 0) as total
       from credits.accounts a left join credits.entries e on e.user_id = a.user_id
      group by a.user_id, a.balance_cents having a.balance_cents <> coalesce(sum(e.amount_cents), 0)`,
  );
  if (drift.rowCount) throw new Error(`balances differ from their entries: ${JSON.stringify(drift.rows)}`);
  const doubles = await pool.query(
    `select reference, count(*) from credits.entries where kind = 'purchase'
      group by reference having count(*) > 1`,
  );
  if (doubles.rowCount) throw new Error(`sessions credited twice: ${JSON.stringify(doubles.rows)}`);
}

export async function entriesOf(
  pool: Pool,
  userId: string,
): Promise<{ kind: string; amountCents: number }[]> {
  const result = await pool.query(
    `select kind, amount_cents as "amountCents" from credits.entries where user_id = $1 order by id`,
    [userId],
  );
  return result.rows;
}

export async function balanceOf(pool: Pool, userId: string): Promise<number> {
  const result = await pool.query("select balance_cents from credits.accounts where user_id = $1", [userId]);
  return result.rows[0]?.balance_cents;
}
