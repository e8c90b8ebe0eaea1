-- Outgoing webhooks to the apps that use the metering API: credits.purchased, credits.refunded,
-- balance.low and hold.expired, for metering customers only.
--
-- Each event is written to an outbox by a trigger on the credit table whose change causes it, so it
-- commits or rolls back with its cause on every path there is: Stripe's webhook and the success page
-- (whichever credits first), the hold sweeper, an admin's adjustment, the CLI, several servers at
-- once. No code path can forget to enqueue, and none can enqueue an event whose cause rolled back.
-- It also keeps the credit tables named only by the ledger (and these migrations): no TypeScript
-- outside src/ledger/ has to know when a purchase or an expiry happens.

-- The endpoints WEBHOOK_ENDPOINTS names, written by the server at start. A trigger cannot read the
-- server's settings, so the outbox fans each event out to the active rows here: one delivery per
-- endpoint, each retried on its own. Secrets are never stored: each is derived from AUTH_SECRET and
-- the URL by the server, so a leaked table or backup signs nothing.
create table metering.webhook_endpoints (
  url text primary key check (url ~ '^https?://' and length(url) <= 2000),
  active boolean not null default true,
  updated_at timestamptz not null default now()
);

-- One row: LOW_BALANCE_ALERT_CENTS, written by the server at start, for the balance.low trigger.
create table metering.webhook_settings (
  singleton boolean primary key default true check (singleton),
  low_balance_alert_cents bigint not null default 100 check (low_balance_alert_cents between 0 and 100000000),
  updated_at timestamptz not null default now()
);
insert into metering.webhook_settings default values;

-- balance.low fires once per crossing: set when an alert is enqueued, cleared when available credit
-- is back at or above the threshold, which re-arms it.
alter table metering.customers add column low_balance_alerted boolean not null default false;

-- The outbox: one row per event and endpoint. `event_id` is the event's `id` in the payload, the same
-- for every endpoint, so an app receiving it twice (at least once means it may) can tell.
-- `next_attempt_at` doubles as a lease: a deliverer claims a row by pushing it past the attempt's
-- timeout, so no two deliverers (on one server or several) ever send one delivery at once, and a
-- deliverer that died mid-attempt is replaced once the lease runs out.
create table metering.webhook_outbox (
  id bigint generated always as identity primary key,
  event_id uuid not null,
  endpoint_url text not null check (length(endpoint_url) <= 2000),
  type text not null check (type in ('credits.purchased', 'credits.refunded', 'balance.low', 'hold.expired')),
  user_id text not null,
  customer_id text not null,
  data jsonb not null check (length(data::text) <= 8000),
  created_at timestamptz not null default now(),
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts int not null default 0 check (attempts between 0 and 1000),
  next_attempt_at timestamptz not null default now(),
  last_attempt_at timestamptz,
  last_status int,
  last_error text check (length(last_error) <= 500),
  delivered_at timestamptz,
  unique (event_id, endpoint_url),
  check ((status = 'delivered') = (delivered_at is not null))
);
-- The deliverer looks only at pending rows, the most overdue first.
create index webhook_outbox_due on metering.webhook_outbox (next_attempt_at) where status = 'pending';
-- The admin list, newest first.
create index webhook_outbox_recent on metering.webhook_outbox (id desc);

-- Enqueues `type` for the Coinslot user `user_id` if they are some app's customer and an endpoint is
-- active; otherwise nothing (a plain Coinslot user's purchases are nobody's business but theirs).
-- The data always names the app's customer id and the balance after the cause.
create function metering.enqueue_webhook(user_id text, type text, data jsonb) returns void
language plpgsql
as $$
declare
  customer_id text;
  event_data jsonb;
  event_id uuid := gen_random_uuid();
begin
  select c.id into customer_id from metering.customers c where c.user_id = enqueue_webhook.user_id;
  if customer_id is null then
    return;
  end if;
  select jsonb_build_object(
           'customer', customer_id,
           'balanceCents', a.balance_cents,
           'availableCents', a.balance_cents - a.held_cents
         ) || enqueue_webhook.data
    into event_data
    from credits.accounts a
   where a.user_id = enqueue_webhook.user_id;
  insert into metering.webhook_outbox (event_id, endpoint_url, type, user_id, customer_id, data)
  select event_id, e.url, enqueue_webhook.type, enqueue_webhook.user_id, customer_id, event_data
    from metering.webhook_endpoints e
   where e.active;
end
$$;

-- Row-level AFTER triggers run when their statement ends, so the ledger's one-statement movements
-- (balance and entry together) are complete when these read the balance.
create function metering.entry_webhook() returns trigger
language plpgsql
as $$
begin
  perform metering.enqueue_webhook(
    new.user_id,
    case when new.kind = 'purchase' then 'credits.purchased' else 'credits.refunded' end,
    jsonb_build_object(
      'amountCents', abs(new.amount_cents),
      'reason', new.kind,
      'entryId', new.id::text
    )
  );
  return null;
end
$$;
create trigger entries_webhook
  after insert on credits.entries
  for each row when (new.kind in ('purchase', 'refund', 'dispute'))
  execute function metering.entry_webhook();

-- Only holds placed through /v1 (their ledger key says so): a chat hold is the web app's business.
create function metering.hold_webhook() returns trigger
language plpgsql
as $$
begin
  perform metering.enqueue_webhook(
    new.user_id,
    'hold.expired',
    jsonb_build_object('hold', new.id::text, 'amountCents', new.amount_cents)
  );
  return null;
end
$$;
create trigger holds_webhook
  after update of status on credits.holds
  for each row when (new.status = 'expired' and old.status <> 'expired' and new.idempotency_key like 'v1:hold:%')
  execute function metering.hold_webhook();

-- balance.low: available credit below the threshold and not yet alerted. Every change of a balance
-- or hold passes here, so the cheap checks come first: nothing to do without an active endpoint.
create function metering.balance_webhook() returns trigger
language plpgsql
as $$
declare
  threshold_cents bigint;
  available_cents bigint := new.balance_cents - new.held_cents;
  alerted boolean;
begin
  if not exists (select 1 from metering.webhook_endpoints where active) then
    return null;
  end if;
  select s.low_balance_alert_cents into threshold_cents from metering.webhook_settings s;
  select c.low_balance_alerted into alerted from metering.customers c where c.user_id = new.user_id;
  if alerted is null then
    return null;
  end if;
  if available_cents < threshold_cents and not alerted then
    update metering.customers set low_balance_alerted = true where user_id = new.user_id;
    perform metering.enqueue_webhook(
      new.user_id,
      'balance.low',
      jsonb_build_object('thresholdCents', threshold_cents)
    );
  elsif available_cents >= threshold_cents and alerted then
    update metering.customers set low_balance_alerted = false where user_id = new.user_id;
  end if;
  return null;
end
$$;
create trigger accounts_webhook
  after update of balance_cents, held_cents on credits.accounts
  for each row when (new.balance_cents - new.held_cents is distinct from old.balance_cents - old.held_cents)
  execute function metering.balance_webhook();

-- Like every other metering table: no privileges and RLS with no policy for the API roles; only the
-- server's own login (which bypasses RLS) reads and writes them. The functions run only as triggers.
revoke all on metering.webhook_endpoints, metering.webhook_settings, metering.webhook_outbox
  from public, anon, authenticated;
revoke all on function metering.enqueue_webhook(text, text, jsonb) from public;
revoke all on function metering.entry_webhook() from public;
revoke all on function metering.hold_webhook() from public;
revoke all on function metering.balance_webhook() from public;
alter table metering.webhook_endpoints enable row level security;
alter table metering.webhook_endpoints force row level security;
alter table metering.webhook_settings enable row level security;
alter table metering.webhook_settings force row level security;
alter table metering.webhook_outbox enable row level security;
alter table metering.webhook_outbox force row level security;
