-- The credits schema: accounts, the append-only ledger, holds, payments and Stripe events.
-- Portable to Supabase unchanged: the roles below already exist there, and the policies read the
-- same `request.jwt.claims` setting that PostgREST sets for each request.

-- Roles. Created only when missing, so this applies on a plain server and on Supabase alike. Two
-- processes migrating two databases of one cluster may race on the cluster-wide role catalog, hence
-- unique_violation beside duplicate_object.
do $$
declare
  role_name text;
begin
  foreach role_name in array array['anon', 'authenticated', 'service_role'] loop
    begin
      execute format('create role %I nologin noinherit', role_name);
    exception when duplicate_object or unique_violation then
      null;
    end;
  end loop;
end
$$;

-- The server's own login must be able to `SET LOCAL ROLE authenticated` for user-facing reads.
-- A superuser can already; elsewhere the grant may be refused if the login lacks the right, in which
-- case `npm run doctor` reports it rather than this migration failing.
do $$
begin
  execute format('grant anon, authenticated to %I', current_user);
exception when others then
  null;
end
$$;

create schema if not exists credits;
comment on schema credits is 'Coinslot credit ledger. Only the ledger module writes here.';

-- The signed-in user's id, from the claims the request set. Null when there are no claims, so every
-- policy comparing against it fails closed.
create or replace function credits.request_user_id() returns text
language sql stable
as $$
  select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
$$;

create table credits.accounts (
  user_id text primary key check (length(user_id) between 1 and 255),
  email text not null unique check (length(email) between 3 and 320),
  balance_cents bigint not null,
  held_cents bigint not null default 0 check (held_cents >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on column credits.accounts.balance_cents is
  'Always the sum of this account''s entries. May be negative only after a refund or lost dispute.';
comment on column credits.accounts.held_cents is
  'Sum of open holds. Available credit is balance_cents - held_cents.';

create table credits.entries (
  id bigint generated always as identity primary key,
  user_id text not null references credits.accounts (user_id),
  amount_cents bigint not null check (amount_cents <> 0 and abs(amount_cents) <= 100000000),
  kind text not null check (
    kind in ('signup_bonus', 'purchase', 'usage', 'refund', 'dispute', 'dispute_reversal', 'adjustment')
  ),
  idempotency_key text not null unique check (length(idempotency_key) between 1 and 255),
  reference text check (length(reference) <= 255),
  description text not null default '' check (length(description) <= 500),
  created_at timestamptz not null default now()
);
-- Newest-first pagination of one user's history.
create index entries_user_id_id on credits.entries (user_id, id desc);

create table credits.holds (
  id bigint generated always as identity primary key,
  user_id text not null references credits.accounts (user_id),
  amount_cents bigint not null check (amount_cents between 1 and 100000000),
  settled_cents bigint check (settled_cents between 0 and amount_cents),
  status text not null default 'open' check (status in ('open', 'settled', 'released', 'expired')),
  idempotency_key text not null unique check (length(idempotency_key) between 1 and 255),
  description text not null default '' check (length(description) <= 500),
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  resolved_at timestamptz,
  -- A hold is resolved exactly when it is no longer open, and only a settled hold has a settled amount.
  check ((status = 'open') = (resolved_at is null)),
  check ((status = 'settled') = (settled_cents is not null))
);
create index holds_user_id on credits.holds (user_id, id desc);
-- The sweeper looks only at open holds, oldest expiry first.
create index holds_open_expires_at on credits.holds (expires_at) where status = 'open';

create table credits.payments (
  checkout_session_id text primary key,
  payment_intent_id text unique,
  user_id text not null check (length(user_id) between 1 and 255),
  amount_cents bigint not null check (amount_cents between 1 and 100000000),
  currency text not null check (currency ~ '^[a-z]{3}$'),
  status text not null check (status in ('pending', 'paid', 'failed', 'expired')),
  refunded_cents bigint not null default 0 check (refunded_cents between 0 and amount_cents),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index payments_user_id on credits.payments (user_id, created_at desc);

create table credits.stripe_events (
  event_id text primary key,
  type text not null,
  -- Null when the event names no user (or an unknown one); such rows are visible to nobody.
  user_id text,
  received_at timestamptz not null default now()
);

-- The ledger is append-only: a wrong entry is corrected by a new entry, never by editing history.
create function credits.refuse_entry_change() returns trigger
language plpgsql
as $$
begin
  raise exception 'credits.entries is append-only: % is refused; add a correcting entry instead', tg_op
    using errcode = 'restrict_violation';
end
$$;
create trigger entries_append_only
  before update or delete on credits.entries
  for each row execute function credits.refuse_entry_change();
create trigger entries_no_truncate
  before truncate on credits.entries
  for each statement execute function credits.refuse_entry_change();

-- Privileges. Supabase grants ALL on new tables to anon and authenticated by default privileges, so
-- revoke explicitly; then give authenticated read access only, and let the policies pick the rows.
revoke all on all tables in schema credits from public, anon, authenticated;
revoke all on schema credits from public, anon;
grant usage on schema credits to authenticated;
grant execute on function credits.request_user_id() to authenticated;
revoke all on function credits.refuse_entry_change() from public;
grant select on credits.accounts, credits.entries, credits.holds, credits.payments, credits.stripe_events
  to authenticated;

-- Bookkeeping of the migration runner: out of reach of both API roles.
revoke all on schema coinslot_private from public, anon, authenticated;
revoke all on all tables in schema coinslot_private from public, anon, authenticated;
alter table coinslot_private.migrations enable row level security;
alter table coinslot_private.migrations force row level security;

-- Row-level security, enabled and FORCED: forcing makes even the table owner obey the policies, so
-- only a role that explicitly bypasses RLS (the server's own login) can write. No policy exists for
-- anon, so anon sees nothing; no INSERT, UPDATE or DELETE policy exists for anyone, so authenticated
-- can change nothing even if a grant slipped in.
alter table credits.accounts enable row level security;
alter table credits.accounts force row level security;
-- A person may see their own balance, never another's.
create policy accounts_select_own on credits.accounts
  for select to authenticated using (user_id = (select credits.request_user_id()));

alter table credits.entries enable row level security;
alter table credits.entries force row level security;
-- A person may read their own ledger history, never another's.
create policy entries_select_own on credits.entries
  for select to authenticated using (user_id = (select credits.request_user_id()));

alter table credits.holds enable row level security;
alter table credits.holds force row level security;
-- A person may see their own reservations (the UI shows held credit while a generation runs).
create policy holds_select_own on credits.holds
  for select to authenticated using (user_id = (select credits.request_user_id()));

alter table credits.payments enable row level security;
alter table credits.payments force row level security;
-- A person may see their own purchases and refunds.
create policy payments_select_own on credits.payments
  for select to authenticated using (user_id = (select credits.request_user_id()));

alter table credits.stripe_events enable row level security;
alter table credits.stripe_events force row level security;
-- A person may see the Stripe events about their own payments; events without a user stay hidden.
create policy stripe_events_select_own on credits.stripe_events
  for select to authenticated using (user_id = (select credits.request_user_id()));
