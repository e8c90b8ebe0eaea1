// Billing's repository: it owns payments, stripe_events, refund_reports, disputes; balances are the ledger's.
import type { Pool, PoolClient } from "../db/pool.js";

/**
 * SQL for the Stripe side of the credits schema. Billing decides and calls these inside the same
 * transaction as the ledger change they accompany, so a payment row and its credit commit together.
 */
type Queryable = Pick<Pool | PoolClient, "query">;

export type PaymentStatus = "pending" | "paid" | "failed" | "expired";
/** Why a paid session was not credited; a person resolves it (refund in Stripe, or an adjustment). */
export type PaymentAttention =
  | "unknown_user"
  | "currency_mismatch"
  | "amount_mismatch"
  | "user_mismatch"
  | "not_created_here";
/** `coinslot`: created by Coinslot's checkout; `stripe`: first heard of from Stripe, never credited. */
export type PaymentOrigin = "coinslot" | "stripe";

export type Payment = {
  checkoutSessionId: string;
  paymentIntentId: string | null;
  userId: string;
  amountCents: number;
  currency: string;
  status: PaymentStatus;
  refundedCents: number;
  creditedAt: Date | null;
  attention: PaymentAttention | null;
  origin: PaymentOrigin;
  createdAt: Date;
};

export type Dispute = {
  disputeId: string;
  paymentIntentId: string;
  amountCents: number;
  status: string;
  clawedBack: boolean;
  /** What a lost dispute took back (less credit that had expired); null: its whole amount (before 0016). */
  clawedBackCents: number | null;
  returned: boolean;
};

const paymentColumns = `checkout_session_id as "checkoutSessionId", payment_intent_id as "paymentIntentId",
  user_id as "userId", amount_cents as "amountCents", currency, status, refunded_cents as "refundedCents",
  credited_at as "creditedAt", attention, origin, created_at as "createdAt"`;

/** Records a Stripe event id; false when it was recorded before, so the event must not apply again. */
export async function recordStripeEvent(
  client: PoolClient,
  event: { eventId: string; type: string; userId: string | null },
): Promise<boolean> {
  const result = await client.query(
    `insert into credits.stripe_events (event_id, type, user_id) values ($1, $2, $3)
     on conflict (event_id) do nothing`,
    [event.eventId, event.type, event.userId],
  );
  return result.rowCount === 1;
}

/** Names the user of an event once it is known (refund and dispute events carry no user id). */
export async function setStripeEventUser(client: PoolClient, eventId: string, userId: string): Promise<void> {
  await client.query("update credits.stripe_events set user_id = $2 where event_id = $1", [eventId, userId]);
}

/**
 * Serialises everything about one payment intent for the rest of the transaction. Completion,
 * refund and dispute each take it first, so a refund can never slip between a completion reading
 * the refund reports and committing its credit.
 */
export async function lockPaymentIntent(client: PoolClient, paymentIntentId: string): Promise<void> {
  await client.query("select pg_advisory_xact_lock(hashtextextended('payment_intent:' || $1, 0))", [
    paymentIntentId,
  ]);
}

/**
 * Records a checkout session Coinslot created, with its user, amount and currency, before anyone is
 * sent to pay: only a session recorded here is ever credited, and only for the amount recorded.
 */
export async function insertPendingPayment(
  database: Queryable,
  payment: { checkoutSessionId: string; userId: string; amountCents: number; currency: string },
): Promise<void> {
  await database.query(
    `insert into credits.payments (checkout_session_id, user_id, amount_cents, currency, status)
     values ($1, $2, $3, $4, 'pending') on conflict (checkout_session_id) do nothing`,
    [payment.checkoutSessionId, payment.userId, payment.amountCents, payment.currency],
  );
}

export async function findPayment(database: Queryable, checkoutSessionId: string): Promise<Payment | null> {
  const result = await database.query<Payment>(
    `select ${paymentColumns} from credits.payments where checkout_session_id = $1`,
    [checkoutSessionId],
  );
  return result.rows[0] ?? null;
}

/**
 * The row Coinslot recorded when it created this session, locked until the transaction ends (so
 * whichever of webhook or success page comes second waits here and then sees the first one's
 * credit), or null when Coinslot never created it. Rows kept for attention do not count.
 */
export async function lockRecordedPayment(
  client: PoolClient,
  checkoutSessionId: string,
): Promise<Payment | null> {
  const result = await client.query<Payment>(
    `select ${paymentColumns} from credits.payments
      where checkout_session_id = $1 and origin = 'coinslot' for update`,
    [checkoutSessionId],
  );
  return result.rows[0] ?? null;
}

/**
 * Keeps a paid session Coinslot did not create (a Payment Link, another product on the account)
 * for a person to look at. Never credited (the table refuses it); a refund or dispute of it finds
 * nothing credited to claw back. A second delivery finds the row and changes nothing.
 */
export async function recordForeignPayment(
  client: PoolClient,
  payment: {
    checkoutSessionId: string;
    paymentIntentId: string | null;
    userId: string;
    amountCents: number;
    currency: string;
  },
): Promise<void> {
  await client.query(
    `insert into credits.payments
       (checkout_session_id, payment_intent_id, user_id, amount_cents, currency, status, attention, origin)
     values ($1, $2, $3, $4, $5, 'paid', 'not_created_here', 'stripe')
     on conflict (checkout_session_id) do nothing`,
    [
      payment.checkoutSessionId,
      payment.paymentIntentId,
      payment.userId,
      payment.amountCents,
      payment.currency,
    ],
  );
}

export async function lockPaymentByIntent(
  client: PoolClient,
  paymentIntentId: string,
): Promise<Payment | null> {
  const result = await client.query<Payment>(
    `select ${paymentColumns} from credits.payments where payment_intent_id = $1 for update`,
    [paymentIntentId],
  );
  return result.rows[0] ?? null;
}

export type PaymentChange = Partial<
  Pick<Payment, "paymentIntentId" | "amountCents" | "currency" | "status" | "refundedCents" | "attention">
> & { credited?: boolean };

/** Applies `change` to one payment; fields left out keep their value. */
export async function updatePayment(
  client: PoolClient,
  checkoutSessionId: string,
  change: PaymentChange,
): Promise<void> {
  await client.query(
    `update credits.payments set
       payment_intent_id = coalesce($2, payment_intent_id),
       amount_cents = coalesce($3, amount_cents),
       currency = coalesce($4, currency),
       status = coalesce($5, status),
       refunded_cents = coalesce($6, refunded_cents),
       attention = case when $7::boolean then $8 else attention end,
       credited_at = case when $9::boolean then coalesce(credited_at, now()) else credited_at end,
       updated_at = now()
     where checkout_session_id = $1`,
    [
      checkoutSessionId,
      change.paymentIntentId ?? null,
      change.amountCents ?? null,
      change.currency ?? null,
      change.status ?? null,
      change.refundedCents ?? null,
      "attention" in change,
      change.attention ?? null,
      change.credited === true,
    ],
  );
}

/** Keeps the highest cumulative refund Stripe reported; late, older events cannot lower it. */
export async function reportRefund(
  client: PoolClient,
  report: { paymentIntentId: string; userId: string | null; refundedCents: number },
): Promise<void> {
  await client.query(
    `insert into credits.refund_reports (payment_intent_id, user_id, refunded_cents) values ($1, $2, $3)
     on conflict (payment_intent_id) do update set
       refunded_cents = greatest(refund_reports.refunded_cents, excluded.refunded_cents),
       user_id = coalesce(refund_reports.user_id, excluded.user_id),
       updated_at = now()`,
    [report.paymentIntentId, report.userId, report.refundedCents],
  );
}

export async function reportedRefundCents(database: Queryable, paymentIntentId: string): Promise<number> {
  const result = await database.query<{ refundedCents: number }>(
    `select refunded_cents as "refundedCents" from credits.refund_reports where payment_intent_id = $1`,
    [paymentIntentId],
  );
  return result.rows[0]?.refundedCents ?? 0;
}

/**
 * Records a dispute's latest status. A final status (won, lost, warning_closed, prevented) is never
 * overwritten by an older, open one arriving late.
 */
export async function reportDispute(
  client: PoolClient,
  dispute: {
    disputeId: string;
    paymentIntentId: string;
    userId: string | null;
    amountCents: number;
    status: string;
  },
): Promise<void> {
  await client.query(
    `insert into credits.disputes (dispute_id, payment_intent_id, user_id, amount_cents, status)
     values ($1, $2, $3, $4, $5)
     on conflict (dispute_id) do update set
       status = case when disputes.status in ('won', 'lost', 'warning_closed', 'prevented') then disputes.status else excluded.status end,
       user_id = coalesce(disputes.user_id, excluded.user_id),
       updated_at = now()`,
    [dispute.disputeId, dispute.paymentIntentId, dispute.userId, dispute.amountCents, dispute.status],
  );
}

export async function disputesOf(client: PoolClient, paymentIntentId: string): Promise<Dispute[]> {
  const result = await client.query<Dispute>(
    `select dispute_id as "disputeId", payment_intent_id as "paymentIntentId", amount_cents as "amountCents",
            status, clawed_back as "clawedBack", clawed_back_cents::int as "clawedBackCents", returned
       from credits.disputes where payment_intent_id = $1 order by created_at, dispute_id for update`,
    [paymentIntentId],
  );
  return result.rows;
}

export async function markDispute(
  client: PoolClient,
  disputeId: string,
  change: { clawedBack?: boolean; clawedBackCents?: number; returned?: boolean; userId?: string },
): Promise<void> {
  await client.query(
    `update credits.disputes set clawed_back = coalesce($2, clawed_back), returned = coalesce($3, returned),
       user_id = coalesce(user_id, $4), clawed_back_cents = coalesce($5, clawed_back_cents), updated_at = now()
     where dispute_id = $1`,
    [
      disputeId,
      change.clawedBack ?? null,
      change.returned ?? null,
      change.userId ?? null,
      change.clawedBackCents ?? null,
    ],
  );
}
