-- Billing: what Stripe reported about refunds and disputes, kept even when it overtakes the purchase.
-- Stripe does not promise event order: a `charge.refunded` or `charge.dispute.created` may arrive
-- before the `checkout.session.completed` that credits the purchase. Each report is stored keyed by
-- the payment intent, and the payment is reconciled against it whenever either side arrives, so a
-- refund is clawed back exactly once whichever comes first.

-- When the purchase was credited, and why a paid session was not (unknown user, wrong currency).
-- `status = 'paid'` says what Stripe did; `credited_at` says what the ledger did. They differ only
-- while something needs a person's attention, which `attention` names.
alter table credits.payments
  add column credited_at timestamptz,
  add column attention text check (attention in ('unknown_user', 'currency_mismatch'));
comment on column credits.payments.refunded_cents is
  'Refunded amount already clawed back from the balance (not merely reported by Stripe).';

-- The cumulative `amount_refunded` Stripe last reported for a payment intent. Refund events carry
-- the running total, so the highest one seen is the truth and older events arriving late change nothing.
create table credits.refund_reports (
  payment_intent_id text primary key check (length(payment_intent_id) between 1 and 255),
  -- Null until the payment (and so its user) is known; such rows are visible to nobody.
  user_id text check (length(user_id) between 1 and 255),
  refunded_cents bigint not null check (refunded_cents between 0 and 100000000),
  updated_at timestamptz not null default now()
);

-- One row per Stripe dispute. `clawed_back` and `returned` record what the ledger did, so each
-- dispute takes credit at most once and gives it back at most once (when closed as won).
create table credits.disputes (
  dispute_id text primary key check (length(dispute_id) between 1 and 255),
  payment_intent_id text not null check (length(payment_intent_id) between 1 and 255),
  user_id text check (length(user_id) between 1 and 255),
  amount_cents bigint not null check (amount_cents between 1 and 100000000),
  status text not null check (length(status) between 1 and 64),
  clawed_back boolean not null default false,
  returned boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (not returned or clawed_back)
);
create index disputes_payment_intent_id on credits.disputes (payment_intent_id);

-- The same rules as every credits table: readable only by the owner, writable only by the server.
revoke all on credits.refund_reports, credits.disputes from public, anon, authenticated;
grant select on credits.refund_reports, credits.disputes to authenticated;

alter table credits.refund_reports enable row level security;
alter table credits.refund_reports force row level security;
-- A person may see the refunds Stripe reported on their own payments.
create policy refund_reports_select_own on credits.refund_reports
  for select to authenticated using (user_id = (select credits.request_user_id()));

alter table credits.disputes enable row level security;
alter table credits.disputes force row level security;
-- A person may see disputes on their own payments.
create policy disputes_select_own on credits.disputes
  for select to authenticated using (user_id = (select credits.request_user_id()));
