import { type Pool, transaction } from "../db/pool.js";
import { statement } from "../db/statement.js";

/** One event on its way to one endpoint, as a deliverer claimed it. */
export type Delivery = {
  id: string;
  eventId: string;
  endpointUrl: string;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
  /** Counting the attempt now claimed. */
  attempts: number;
};

type DeliveryRow = {
  id: string;
  event_id: string;
  endpoint_url: string;
  type: string;
  data: Record<string, unknown>;
  created_at: Date;
  attempts: number;
};

// SKIP LOCKED lets several deliverers (one per server) claim at once without waiting on, or taking,
// each other's rows. Claiming counts the attempt and pushes next_attempt_at past the attempt's
// timeout: that lease is what keeps everyone else off the row while it is being sent.
const claimStatement = statement(
  "webhooks_claim",
  `
  with due as (
    select id from metering.webhook_outbox
     where status = 'pending' and next_attempt_at <= now() and endpoint_url = any($2::text[])
     order by next_attempt_at
     limit $1
     for update skip locked
  )
  update metering.webhook_outbox o
     set attempts = o.attempts + 1, last_attempt_at = now(),
         next_attempt_at = now() + make_interval(secs => $3::double precision)
    from due
   where o.id = due.id
  returning o.id::text, o.event_id::text, o.endpoint_url, o.type, o.data, o.created_at, o.attempts`,
);

/** Claims up to `limit` due deliveries to `endpointUrls` for `leaseSeconds`. */
export async function claimDueDeliveries(
  pool: Pool,
  input: { limit: number; endpointUrls: string[]; leaseSeconds: number },
): Promise<Delivery[]> {
  const { rows } = await pool.query<DeliveryRow>({
    ...claimStatement,
    values: [input.limit, input.endpointUrls, input.leaseSeconds],
  });
  return rows.map((row) => ({
    id: row.id,
    eventId: row.event_id,
    endpointUrl: row.endpoint_url,
    type: row.type,
    data: row.data,
    createdAt: row.created_at,
    attempts: row.attempts,
  }));
}

/** What one attempt came to: delivered, retry at `retryAtMs`, or given up (`retryAtMs` null). */
export type AttemptOutcome =
  | { delivered: true; status: number }
  | { delivered: false; status: number | null; error: string; retryAtMs: number | null };

/**
 * Records the attempt `delivery.attempts`, only while the claim is still ours (same attempt count,
 * still pending): an attempt that outlived its lease must not overwrite its successor's record.
 */
export async function recordAttempt(pool: Pool, delivery: Delivery, outcome: AttemptOutcome): Promise<void> {
  const retryAt = outcome.delivered || outcome.retryAtMs === null ? null : new Date(outcome.retryAtMs);
  const status = outcome.delivered ? "delivered" : retryAt ? "pending" : "failed";
  await pool.query(
    `update metering.webhook_outbox
        set status = $3, last_status = $4, last_error = $5,
            next_attempt_at = coalesce($6::timestamptz, next_attempt_at),
            delivered_at = case when $3 = 'delivered' then now() end
      where id = $1 and attempts = $2 and status = 'pending'`,
    [
      delivery.id,
      delivery.attempts,
      status,
      outcome.status,
      outcome.delivered ? null : outcome.error.slice(0, 500),
      retryAt,
    ],
  );
}

/**
 * Makes the outbox match this server's settings: the configured endpoints active (the triggers fan
 * events out to them), every other one inactive with its pending deliveries failed, since no server
 * would send them any more; and the low-balance threshold the balance.low trigger compares with.
 */
export async function applyWebhookSettings(
  pool: Pool,
  input: { endpointUrls: string[]; lowBalanceAlertCents: number },
): Promise<void> {
  await transaction(
    pool,
    async (client) => {
      await client.query(
        `insert into metering.webhook_endpoints (url, active)
       select unnest($1::text[]), true
       on conflict (url) do update set active = true, updated_at = now() where not webhook_endpoints.active`,
        [input.endpointUrls],
      );
      await client.query(
        `update metering.webhook_endpoints set active = false, updated_at = now()
        where active and url <> all($1::text[])`,
        [input.endpointUrls],
      );
      await client.query(
        `update metering.webhook_outbox
          set status = 'failed', last_error = 'endpoint removed from WEBHOOK_ENDPOINTS'
        where status = 'pending' and endpoint_url <> all($1::text[])`,
        [input.endpointUrls],
      );
      await client.query(
        `update metering.webhook_settings set low_balance_alert_cents = $1, updated_at = now()
        where low_balance_alert_cents <> $1`,
        [input.lowBalanceAlertCents],
      );
      // Servers starting together write the same rows; a deadlock between them is simply retried.
    },
    { attempts: 3 },
  );
}

/** A delivery as the admin list shows it. */
export type DeliveryView = {
  id: string;
  eventId: string;
  type: string;
  customer: string;
  endpointUrl: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
  data: Record<string, unknown>;
};

type DeliveryViewRow = Omit<DeliveryView, "lastAttemptAt" | "nextAttemptAt" | "deliveredAt" | "createdAt"> & {
  lastAttemptAt: Date | null;
  nextAttemptAt: Date;
  deliveredAt: Date | null;
  createdAt: Date;
};

/** The newest `limit` deliveries, newest first. */
export async function listDeliveries(pool: Pool, limit: number): Promise<DeliveryView[]> {
  const { rows } = await pool.query<DeliveryViewRow>(
    `select id::text as "id", event_id::text as "eventId", type, customer_id as "customer",
            endpoint_url as "endpointUrl", status, attempts, last_status as "lastStatus",
            last_error as "lastError", last_attempt_at as "lastAttemptAt",
            next_attempt_at as "nextAttemptAt", delivered_at as "deliveredAt",
            created_at as "createdAt", data
       from metering.webhook_outbox
      order by id desc
      limit $1`,
    [limit],
  );
  return rows.map((row) => ({
    ...row,
    lastAttemptAt: row.lastAttemptAt?.toISOString() ?? null,
    // Only a pending delivery has a next attempt; the column keeps the last lease otherwise.
    nextAttemptAt: row.status === "pending" ? row.nextAttemptAt.toISOString() : null,
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  }));
}
