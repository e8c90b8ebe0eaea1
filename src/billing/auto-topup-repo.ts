// Auto top-up's repository: credits.auto_topup_settings and credits.auto_topups (migration 0014).
import { type Pool, type PoolClient, transaction } from "../db/pool.js";

type Queryable = Pick<Pool | PoolClient, "query">;

export type AutoTopUpSettings = {
  userId: string;
  enabled: boolean;
  thresholdCents: number;
  amountCents: number;
  monthlyLimitCents: number;
  currency: string;
  stripeCustomerId: string | null;
  paymentMethodId: string | null;
  cardSaved: boolean;
  setupCheckoutSessionId: string | null;
  consecutiveFailures: number;
  pausedUntil: Date | null;
  disabledReason: "failures" | null;
};

export type TopUpStatus = "pending" | "processing" | "succeeded" | "failed" | "canceled";

export type TopUp = {
  id: string;
  userId: string;
  amountCents: number;
  currency: string;
  requestKey: string;
  status: TopUpStatus;
  attempts: number;
  paymentIntentId: string | null;
  failureCode: string | null;
  failureMessage: string | null;
  finishCheckoutSessionId: string | null;
  dismissed: boolean;
  createdAt: Date;
  resolvedAt: Date | null;
};

const settingsColumns = `user_id as "userId", enabled, threshold_cents as "thresholdCents",
  amount_cents as "amountCents", monthly_limit_cents as "monthlyLimitCents", currency,
  stripe_customer_id as "stripeCustomerId", payment_method_id as "paymentMethodId",
  card_saved as "cardSaved", setup_checkout_session_id as "setupCheckoutSessionId",
  consecutive_failures as "consecutiveFailures", paused_until as "pausedUntil",
  disabled_reason as "disabledReason"`;

const topUpColumns = `id::text, user_id as "userId", amount_cents as "amountCents", currency,
  request_key::text as "requestKey", status, attempts, payment_intent_id as "paymentIntentId",
  failure_code as "failureCode", failure_message as "failureMessage",
  finish_checkout_session_id as "finishCheckoutSessionId", dismissed, created_at as "createdAt",
  resolved_at as "resolvedAt"`;

export async function findSettings(
  database: Queryable,
  userId: string,
  options: { lock?: boolean } = {},
): Promise<AutoTopUpSettings | null> {
  const result = await database.query<AutoTopUpSettings>(
    `select ${settingsColumns} from credits.auto_topup_settings where user_id = $1${options.lock ? " for update" : ""}`,
    [userId],
  );
  return result.rows[0] ?? null;
}

export type SettingsChange = Partial<
  Pick<
    AutoTopUpSettings,
    | "enabled"
    | "thresholdCents"
    | "amountCents"
    | "monthlyLimitCents"
    | "stripeCustomerId"
    | "paymentMethodId"
    | "cardSaved"
    | "setupCheckoutSessionId"
    | "consecutiveFailures"
    | "pausedUntil"
    | "disabledReason"
  >
>;

const settingsFields: Record<keyof SettingsChange, string> = {
  enabled: "enabled",
  thresholdCents: "threshold_cents",
  amountCents: "amount_cents",
  monthlyLimitCents: "monthly_limit_cents",
  stripeCustomerId: "stripe_customer_id",
  paymentMethodId: "payment_method_id",
  cardSaved: "card_saved",
  setupCheckoutSessionId: "setup_checkout_session_id",
  consecutiveFailures: "consecutive_failures",
  pausedUntil: "paused_until",
  disabledReason: "disabled_reason",
};

/**
 * Changes the fields given (null clears a field; a field left out keeps its value), creating the
 * person's settings when they have none: then the three amounts are required.
 */
export async function saveSettings(
  database: Queryable,
  input: { userId: string; currency: string; change: SettingsChange },
): Promise<AutoTopUpSettings> {
  const entries = Object.entries(input.change).filter(([, value]) => value !== undefined) as [
    keyof SettingsChange,
    unknown,
  ][];
  const columns = entries.map(([field]) => settingsFields[field]);
  const values = entries.map(([, value]) => value);
  const assignments = columns.map((column, index) => `${column} = $${index + 2}`);
  const updated = await database.query<AutoTopUpSettings>(
    `update credits.auto_topup_settings set ${[...assignments, "updated_at = now()"].join(", ")}
      where user_id = $1 returning ${settingsColumns}`,
    [input.userId, ...values],
  );
  if (updated.rows[0]) return updated.rows[0];
  // A first save; a concurrent first save of the same person makes this one an update.
  const placeholders = columns.map((_, index) => `$${index + 3}`);
  const inserted = await database.query<AutoTopUpSettings>(
    `insert into credits.auto_topup_settings (user_id, currency${columns.map((column) => `, ${column}`).join("")})
     values ($1, $2${placeholders.map((placeholder) => `, ${placeholder}`).join("")})
     on conflict (user_id) do update set ${[...columns.map((column) => `${column} = excluded.${column}`), "updated_at = now()"].join(", ")}
     returning ${settingsColumns}`,
    [input.userId, input.currency, ...values],
  );
  const row = inserted.rows[0];
  if (!row) throw new Error(`saving the auto top-up settings of ${input.userId} returned no row`);
  return row;
}

export async function findTopUp(database: Queryable, id: string, options: { lock?: boolean } = {}) {
  if (!/^\d{1,18}$/.test(id)) return null;
  const result = await database.query<TopUp>(
    `select ${topUpColumns} from credits.auto_topups where id = $1::bigint${options.lock ? " for update" : ""}`,
    [id],
  );
  return result.rows[0] ?? null;
}

/** The top-up a PaymentIntent was made for: by its recorded id, else by the id Stripe carried back in metadata. */
export async function lockTopUpOfIntent(
  client: PoolClient,
  input: { paymentIntentId: string; topUpId: string | null },
): Promise<TopUp | null> {
  const byIntent = await client.query<TopUp>(
    `select ${topUpColumns} from credits.auto_topups where payment_intent_id = $1 for update`,
    [input.paymentIntentId],
  );
  if (byIntent.rows[0]) return byIntent.rows[0];
  if (!input.topUpId) return null;
  const topUp = await findTopUp(client, input.topUpId, { lock: true });
  // Another PaymentIntent already answers for this top-up: this one is not ours to credit.
  if (!topUp || (topUp.paymentIntentId && topUp.paymentIntentId !== input.paymentIntentId)) return null;
  return topUp;
}

export async function recentTopUps(database: Queryable, userId: string, limit: number): Promise<TopUp[]> {
  const result = await database.query<TopUp>(
    `select ${topUpColumns} from credits.auto_topups where user_id = $1 order by id desc limit $2`,
    [userId, limit],
  );
  return result.rows;
}

/** What this calendar month's (UTC) top-ups bought or are buying; the monthly cap counts this. */
export async function monthTotalCents(database: Queryable, userId: string): Promise<number> {
  const result = await database.query<{ total: string }>(
    `select coalesce(sum(amount_cents), 0)::text as total from credits.auto_topups
      where user_id = $1 and status in ('pending', 'processing', 'succeeded')
        and created_at >= (date_trunc('month', now() at time zone 'UTC') at time zone 'UTC')`,
    [userId],
  );
  return Number(result.rows[0]?.total ?? 0);
}

export type TopUpChange = Partial<
  Pick<TopUp, "status" | "paymentIntentId" | "failureCode" | "failureMessage" | "finishCheckoutSessionId">
> & { lastError?: string; nextAttemptAt?: Date; dismissed?: boolean };

/** Applies `change` to one top-up; a final status stamps `resolved_at`. */
export async function updateTopUp(database: Queryable, id: string, change: TopUpChange): Promise<void> {
  await database.query(
    `update credits.auto_topups set
       status = coalesce($2, status),
       payment_intent_id = coalesce($3, payment_intent_id),
       failure_code = coalesce($4, failure_code),
       failure_message = coalesce($5, failure_message),
       finish_checkout_session_id = coalesce($6, finish_checkout_session_id),
       last_error = coalesce($7, last_error),
       next_attempt_at = coalesce($8, next_attempt_at),
       dismissed = coalesce($9, dismissed),
       resolved_at = case when coalesce($2, status) in ('pending', 'processing') then null
                          else coalesce(resolved_at, now()) end,
       updated_at = now()
     where id = $1::bigint`,
    [
      id,
      change.status ?? null,
      change.paymentIntentId ?? null,
      change.failureCode?.slice(0, 100) ?? null,
      change.failureMessage?.slice(0, 500) ?? null,
      change.finishCheckoutSessionId ?? null,
      change.lastError?.slice(0, 500) ?? null,
      change.nextAttemptAt ?? null,
      change.dismissed ?? null,
    ],
  );
}

/**
 * Claims up to `limit` due pending top-ups for `leaseSeconds` (FOR UPDATE SKIP LOCKED: several
 * workers, on one server or many, never take the same one), counting the attempt.
 */
export async function claimDueTopUps(
  pool: Pool,
  input: { limit: number; leaseSeconds: number },
): Promise<TopUp[]> {
  const result = await pool.query<TopUp>(
    `with due as (
       select id from credits.auto_topups
        where status = 'pending' and next_attempt_at <= now()
        order by next_attempt_at limit $1
        for update skip locked
     )
     update credits.auto_topups t
        set attempts = least(t.attempts + 1, 1000), next_attempt_at = now() + make_interval(secs => $2::double precision),
            updated_at = now()
       from due where t.id = due.id
     returning ${topUpColumns
       .split(",")
       .map((column) => `t.${column.trim()}`)
       .join(", ")}`,
    [input.limit, input.leaseSeconds],
  );
  return result.rows;
}

/** Names the Checkout a person opened to finish a failed top-up (a newer one replaces an older). */
export async function setFinishSession(database: Queryable, id: string, checkoutSessionId: string) {
  await database.query(
    "update credits.auto_topups set finish_checkout_session_id = $2, updated_at = now() where id = $1::bigint",
    [id, checkoutSessionId],
  );
}

/** The person a Checkout saves a card for (turning auto top-up on, or finishing a top-up), or null. */
export async function cardSavingSessionOwner(database: Queryable, checkoutSessionId: string) {
  const result = await database.query<{ userId: string }>(
    `select user_id as "userId" from credits.auto_topup_settings where setup_checkout_session_id = $1
     union all
     select user_id from credits.auto_topups where finish_checkout_session_id = $1
     limit 1`,
    [checkoutSessionId],
  );
  return result.rows[0]?.userId ?? null;
}

/**
 * For a person who deletes their account: auto top-up off, the saved card forgotten, and any top-up
 * not yet charged canceled, so nothing ever charges their card again (the ledger keeps the account).
 */
export async function forgetAutoTopUp(pool: Pool, userId: string): Promise<void> {
  await transaction(pool, async (client) => {
    await client.query(
      `update credits.auto_topup_settings
          set enabled = false, card_saved = false, payment_method_id = null, stripe_customer_id = null,
              setup_checkout_session_id = null, updated_at = now()
        where user_id = $1`,
      [userId],
    );
    await client.query(
      `update credits.auto_topups
          set status = 'canceled', failure_code = 'account_deleted', resolved_at = now(), updated_at = now()
        where user_id = $1 and status = 'pending'`,
      [userId],
    );
  });
}
