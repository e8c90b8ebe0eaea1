-- Auto top-up (issue #17): below a threshold of available credit, buy a set amount with the card the
-- person saved through Checkout, at most a set total per calendar month (UTC).
--
-- A top-up starts in the database, in the very statement that took the credit: a trigger on
-- credits.accounts writes a `pending` row here, so it commits or rolls back with the spend or hold
-- that caused it, on every path there is (chat, gateway, metering API, several servers at once).
-- A partial unique index allows one active top-up per person, so 50 concurrent spends crossing the
-- threshold start exactly one. The auto top-up worker (src/billing/auto-topup-worker.ts) claims
-- pending rows under a lease and asks Stripe for an off-session PaymentIntent; the credit itself
-- comes through the purchase path (credits.payments, keyed by the PaymentIntent id), exactly once.

-- One row per person who ever set auto top-up up. `enabled` is true only once a card is saved (the
-- Checkout that saves it was paid); until then `setup_checkout_session_id` names that Checkout.
create table credits.auto_topup_settings (
  user_id text primary key references credits.accounts (user_id),
  enabled boolean not null default false,
  threshold_cents bigint not null check (threshold_cents between 1 and 100000000),
  amount_cents bigint not null check (amount_cents between 1 and 100000000),
  monthly_limit_cents bigint not null check (monthly_limit_cents between amount_cents and 100000000),
  currency text not null check (currency ~ '^[a-z]{3}$'),
  stripe_customer_id text check (length(stripe_customer_id) between 1 and 255),
  -- The saved card; null until known (with real Stripe it is looked up from the customer once).
  payment_method_id text check (length(payment_method_id) between 1 and 255),
  card_saved boolean not null default false,
  setup_checkout_session_id text check (length(setup_checkout_session_id) between 1 and 255),
  -- Failed payments in a row; three turn auto top-up off (disabled_reason 'failures').
  consecutive_failures int not null default 0 check (consecutive_failures between 0 and 1000),
  -- After a failure no new top-up starts before this, so a declined card is not asked again at every
  -- spend (a retry storm the bank would see as card testing).
  paused_until timestamptz,
  disabled_reason text check (disabled_reason in ('failures')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (not enabled or card_saved)
);

-- One row per top-up. `request_key` is the Stripe idempotency key's unique part: random, so a
-- database restored or recreated against the same Stripe account never replays an old payment.
-- `next_attempt_at` doubles as the worker's lease, as in mail.outbox.
create table credits.auto_topups (
  id bigint generated always as identity primary key,
  user_id text not null references credits.accounts (user_id),
  amount_cents bigint not null check (amount_cents between 1 and 100000000),
  currency text not null check (currency ~ '^[a-z]{3}$'),
  request_key uuid not null unique default gen_random_uuid(),
  status text not null default 'pending'
    check (status in ('pending', 'processing', 'succeeded', 'failed', 'canceled')),
  attempts int not null default 0 check (attempts between 0 and 1000),
  next_attempt_at timestamptz not null default now(),
  last_error text check (length(last_error) <= 500),
  payment_intent_id text unique check (length(payment_intent_id) between 1 and 255),
  failure_code text check (length(failure_code) <= 100),
  failure_message text check (length(failure_message) <= 500),
  -- The Checkout a person opened to finish a failed top-up on-session.
  finish_checkout_session_id text unique check (length(finish_checkout_session_id) between 1 and 255),
  dismissed boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  resolved_at timestamptz,
  check ((status in ('pending', 'processing')) = (resolved_at is null))
);
-- Never two top-ups at once for one person.
create unique index auto_topups_one_active on credits.auto_topups (user_id)
  where status in ('pending', 'processing');
-- The worker looks only at pending rows, the most overdue first.
create index auto_topups_due on credits.auto_topups (next_attempt_at) where status = 'pending';
-- A person's top-ups, newest first (the settings page, the monthly total).
create index auto_topups_user on credits.auto_topups (user_id, id desc);
-- Every credited purchase asks whether it was the Checkout that saves a card.
create unique index auto_topup_settings_setup_session on credits.auto_topup_settings (setup_checkout_session_id)
  where setup_checkout_session_id is not null;

-- The threshold of an enabled auto top-up, mirrored onto the account so the trigger below is
-- skipped by its WHEN clause alone for everyone else: the hot path of a spend pays no function call.
alter table credits.accounts add column auto_topup_below_cents bigint
  check (auto_topup_below_cents between 1 and 100000000);

create function credits.mirror_auto_topup_threshold() returns trigger
language plpgsql
as $$
begin
  update credits.accounts
     set auto_topup_below_cents = case when new.enabled then new.threshold_cents end
   where user_id = new.user_id
     and auto_topup_below_cents is distinct from (case when new.enabled then new.threshold_cents end);
  return null;
end
$$;
create trigger auto_topup_settings_mirror
  after insert or update of enabled, threshold_cents on credits.auto_topup_settings
  for each row execute function credits.mirror_auto_topup_threshold();

-- Starts a top-up when a charge (the balance went down: a spend or a settlement, never a hold,
-- whose settlement may leave plenty) leaves available credit below the threshold. Runs when the
-- ledger's statement ends, holding the account row's lock, so one person's triggers run one at a
-- time and each sees the last one's top-up; the unique index is the second guard.
create function credits.start_auto_topup() returns trigger
language plpgsql
as $$
declare
  settings credits.auto_topup_settings%rowtype;
  last_kind text;
  month_cents bigint;
begin
  -- A refund or dispute is money going back to the person: charging their card again for it would
  -- undo what they asked for. An expiry is not a spend either: credit the person let lapse is no
  -- reason to charge their card on the sweeper's schedule. The entry that lowered the balance is this account's newest (its
  -- row lock orders every movement of it).
  if new.balance_cents < old.balance_cents then
    select e.kind into last_kind from credits.entries e
     where e.user_id = new.user_id order by e.id desc limit 1;
    if last_kind in ('refund', 'dispute', 'expiry') then
      return null;
    end if;
  end if;
  select * into settings from credits.auto_topup_settings s where s.user_id = new.user_id and s.enabled;
  if not found or settings.paused_until > now() then
    return null;
  end if;
  if exists (select 1 from credits.auto_topups t
              where t.user_id = new.user_id and t.status in ('pending', 'processing')) then
    return null;
  end if;
  -- The monthly cap counts what was bought and what is on its way; a failed payment bought nothing.
  select coalesce(sum(t.amount_cents), 0) into month_cents from credits.auto_topups t
   where t.user_id = new.user_id and t.status in ('pending', 'processing', 'succeeded')
     and t.created_at >= (date_trunc('month', now() at time zone 'UTC') at time zone 'UTC');
  if month_cents + settings.amount_cents > settings.monthly_limit_cents then
    return null;
  end if;
  insert into credits.auto_topups (user_id, amount_cents, currency)
  values (new.user_id, settings.amount_cents, settings.currency)
  on conflict (user_id) where status in ('pending', 'processing') do nothing;
  return null;
end
$$;
create trigger accounts_auto_topup
  after update of balance_cents, held_cents on credits.accounts
  for each row when (
    new.auto_topup_below_cents is not null
    and new.balance_cents - new.held_cents < new.auto_topup_below_cents
    and new.balance_cents < old.balance_cents
  )
  execute function credits.start_auto_topup();

-- The email a failed top-up sends (with the link to finish it), also when it turns auto top-up off.
-- 0015 (alerts) was written beside this one and lists it too; both list every kind, so a database
-- that applied 0015 first loses none of its kinds here.
alter table mail.outbox drop constraint outbox_kind_check;
alter table mail.outbox add constraint outbox_kind_check check (kind in (
  'verify-email', 'reset-password', 'existing-account', 'password-changed', 'account-deleted', 'receipt',
  'auto-topup-failed', 'low-balance', 'credits-expiring'
));

-- Like every credits table: RLS forced; a person may read their own rows, nobody may write them
-- but the server's own login.
revoke all on function credits.mirror_auto_topup_threshold() from public;
revoke all on function credits.start_auto_topup() from public;
revoke all on credits.auto_topup_settings, credits.auto_topups from public, anon, authenticated;
grant select on credits.auto_topup_settings, credits.auto_topups to authenticated;
alter table credits.auto_topup_settings enable row level security;
alter table credits.auto_topup_settings force row level security;
create policy auto_topup_settings_select_own on credits.auto_topup_settings
  for select to authenticated using (user_id = (select credits.request_user_id()));
alter table credits.auto_topups enable row level security;
alter table credits.auto_topups force row level security;
create policy auto_topups_select_own on credits.auto_topups
  for select to authenticated using (user_id = (select credits.request_user_id()));
