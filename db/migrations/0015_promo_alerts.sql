-- Promo codes, low-balance alerts and expiring-credit reminders (issue #17, "Alerts and limits").
--
-- Promo codes: an admin makes a code; a person redeems it once, for a `promo_code` grant written in
-- the same transaction as the redemption row. The code's counter is raised by one conditional
-- UPDATE, which holds the code's row lock until commit, so concurrent redemptions can never pass
-- max_redemptions; the (code, user) primary key makes it once per account.
--
-- Low-balance alerts: a trigger on credits.accounts sees every change of available credit
-- (balance_cents - held_cents) where it happens, under the account's row lock, so each crossing
-- below a person's threshold is seen exactly once however many spends race. It writes an in-app
-- notice (mailed after commit by the alerts job, which knows the currency) and, for an app's
-- customer, the balance.low webhook. It replaces 0008's balance webhook trigger, so the webhook and
-- the person's own alert share one threshold and one crossing.

create schema promo;
revoke all on schema promo from public, anon;
grant usage on schema promo to authenticated;

create table promo.codes (
  id bigint generated always as identity primary key,
  -- Stored in upper case: codes are case-insensitive, and people type them.
  code text not null unique check (code ~ '^[A-Z0-9_-]{3,40}$'),
  amount_cents bigint not null check (amount_cents between 1 and 100000),
  -- After this, the code is refused (the credit it granted keeps its own expiry).
  expires_at timestamptz,
  max_redemptions int check (max_redemptions between 1 and 1000000),
  -- How long the granted credit lasts; null: PROMO_CREDIT_DAYS.
  credit_days int check (credit_days between 1 and 36500),
  redemptions int not null default 0
    check (redemptions >= 0 and (max_redemptions is null or redemptions <= max_redemptions)),
  disabled_at timestamptz,
  created_by text not null check (length(created_by) between 1 and 255),
  created_at timestamptz not null default now()
);
create index codes_recent on promo.codes (id desc);

create table promo.redemptions (
  code_id bigint not null references promo.codes (id),
  user_id text not null check (length(user_id) between 1 and 255),
  amount_cents bigint not null check (amount_cents > 0),
  -- The ledger entry of the grant (credits.entries.id).
  entry_id bigint,
  -- The redeemer's email fingerprint (credits.email_fingerprint): an account deleted and made again
  -- with the same address is a new user id, not a new person, and may not redeem the code again.
  email_sha256 bytea not null check (length(email_sha256) = 32),
  created_at timestamptz not null default now(),
  primary key (code_id, user_id),
  unique (code_id, email_sha256)
);
create index redemptions_user on promo.redemptions (user_id);

-- Codes are the admins' business (read and written by the server's own login only); a person may
-- read their own redemptions.
revoke all on promo.codes, promo.redemptions from public, anon, authenticated;
grant select on promo.redemptions to authenticated;
alter table promo.codes enable row level security;
alter table promo.codes force row level security;
alter table promo.redemptions enable row level security;
alter table promo.redemptions force row level security;
create policy redemptions_select_own on promo.redemptions
  for select to authenticated using (user_id = (select credits.request_user_id()));

create schema alerts;
revoke all on schema alerts from public, anon;
grant usage on schema alerts to authenticated;

-- One row per person who set a threshold or has been alerted. No row: the default threshold
-- (LOW_BALANCE_ALERT_CENTS, which the server writes to metering.webhook_settings at start) and armed.
create table alerts.low_balance (
  user_id text primary key check (length(user_id) between 1 and 255),
  -- Null: the default. 0: no low-balance alert at all.
  threshold_cents bigint check (threshold_cents between 0 and 100000000),
  -- Set by a crossing below the threshold; cleared (re-armed) when new credit brings available
  -- credit back to the threshold or above, or when the person changes the threshold.
  alerted boolean not null default false,
  alerted_at timestamptz,
  updated_at timestamptz not null default now()
);

-- What the web app shows as banners until the person dismisses them. `mail_pending`: the alerts job
-- has yet to turn it into an email.
create table alerts.notices (
  id bigint generated always as identity primary key,
  user_id text not null check (length(user_id) between 1 and 255),
  kind text not null check (kind ~ '^[a-z][a-z_]{0,39}$'),
  data jsonb not null check (length(data::text) <= 2000),
  mail_pending boolean not null default true,
  created_at timestamptz not null default now(),
  dismissed_at timestamptz
);
create index notices_open on alerts.notices (user_id, id desc) where dismissed_at is null;
create index notices_mail_pending on alerts.notices (id) where mail_pending;

-- One row per lot whose expiry was announced: the reminder is sent once per lot, whichever server
-- (and however many at once) gets there first.
create table alerts.lot_reminders (
  lot_id bigint primary key,
  user_id text not null check (length(user_id) between 1 and 255),
  remaining_cents bigint not null,
  expires_at timestamptz not null,
  created_at timestamptz not null default now()
);
create index lot_reminders_user on alerts.lot_reminders (user_id);

revoke all on alerts.low_balance, alerts.notices, alerts.lot_reminders from public, anon, authenticated;
grant select on alerts.low_balance, alerts.notices to authenticated;
alter table alerts.low_balance enable row level security;
alter table alerts.low_balance force row level security;
create policy low_balance_select_own on alerts.low_balance
  for select to authenticated using (user_id = (select credits.request_user_id()));
alter table alerts.notices enable row level security;
alter table alerts.notices force row level security;
create policy notices_select_own on alerts.notices
  for select to authenticated using (user_id = (select credits.request_user_id()));
alter table alerts.lot_reminders enable row level security;
alter table alerts.lot_reminders force row level security;

-- The person's threshold: their own, else the default.
create function alerts.low_balance_threshold(account_id text) returns bigint
language sql stable
as $$
  select coalesce(
    (select p.threshold_cents from alerts.low_balance p where p.user_id = account_id),
    (select s.low_balance_alert_cents from metering.webhook_settings s),
    100
  )
$$;

-- Runs under the account's row lock (the UPDATE that fired it holds it), so crossings of one
-- account are seen one at a time, each exactly once. Crossing: available credit was at or above the
-- threshold and is now below it. Re-armed only by new credit (a grant, a purchase) bringing it back
-- to the threshold, not by a hold's release: otherwise every chat near the threshold would place a
-- hold (alert), settle it (re-arm) and alert again at the next one.
create function alerts.balance_crossing() returns trigger
language plpgsql
as $$
declare
  old_available bigint := old.balance_cents - old.held_cents;
  new_available bigint := new.balance_cents - new.held_cents;
  threshold bigint;
  was_alerted boolean;
begin
  select coalesce(p.threshold_cents, s.low_balance_alert_cents), coalesce(p.alerted, false)
    into threshold, was_alerted
    from metering.webhook_settings s
    left join alerts.low_balance p on p.user_id = new.user_id;
  if threshold is null or threshold = 0 then
    return null;
  end if;
  if new_available < threshold and old_available >= threshold and not was_alerted then
    insert into alerts.low_balance as p (user_id, alerted, alerted_at)
    values (new.user_id, true, now())
    on conflict (user_id) do update set alerted = true, alerted_at = now();
    insert into alerts.notices (user_id, kind, data)
    values (new.user_id, 'low_balance',
            jsonb_build_object('availableCents', new_available, 'thresholdCents', threshold));
    perform metering.enqueue_webhook(new.user_id, 'balance.low', jsonb_build_object('thresholdCents', threshold));
  elsif was_alerted and new_available >= threshold and new.balance_cents > old.balance_cents then
    update alerts.low_balance set alerted = false where user_id = new.user_id;
    -- The banner has said what it had to: the credit is back.
    update alerts.notices set dismissed_at = now()
     where user_id = new.user_id and kind = 'low_balance' and dismissed_at is null;
  end if;
  return null;
end
$$;

-- The WHEN clause keeps the hot path cheap: a hold's release or a settlement's refund of the rest
-- (available up, balance not) can neither cross below nor re-arm, so the function does not run.
create trigger accounts_low_balance
  after update of balance_cents, held_cents on credits.accounts
  for each row when (
    new.balance_cents - new.held_cents < old.balance_cents - old.held_cents
    or new.balance_cents > old.balance_cents
  )
  execute function alerts.balance_crossing();

-- balance.low now comes from the trigger above. A customer alerted under 0008 stays alerted.
insert into alerts.low_balance (user_id, alerted, alerted_at)
select user_id, true, now() from metering.customers where low_balance_alerted
on conflict (user_id) do nothing;
drop trigger accounts_webhook on credits.accounts;
drop function metering.balance_webhook();
alter table metering.customers drop column low_balance_alerted;

-- Sets a person's threshold (null: the default) and re-arms against it, under the account's row
-- lock so no crossing slips between reading available credit and writing the state: below the new
-- threshold now counts as already alerted (the person is looking at their balance), at or above it
-- as armed.
create function alerts.set_low_balance_threshold(account_id text, new_threshold bigint) returns bigint
language plpgsql
as $$
declare
  available bigint;
  effective bigint;
begin
  select balance_cents - held_cents into available from credits.accounts where user_id = account_id for update;
  if not found then
    raise exception 'no credits account for %', account_id using errcode = 'no_data_found';
  end if;
  insert into alerts.low_balance as p (user_id, threshold_cents, updated_at)
  values (account_id, new_threshold, now())
  on conflict (user_id) do update set threshold_cents = new_threshold, updated_at = now();
  effective := alerts.low_balance_threshold(account_id);
  update alerts.low_balance set alerted = (effective > 0 and available < effective) where user_id = account_id;
  return effective;
end
$$;

-- Who may be mailed about their own credit, by the rules of mail.purchase_receipt (0009): never a
-- deleted account's placeholder address, and an app's customer only once they proved the address.
create function alerts.mail_recipient(account_id text)
returns table (to_address text, person_name text)
language sql stable
as $$
  select a.email, left(u.name, 200)
    from credits.accounts a
    left join auth_coinslot."user" u on u.id = a.user_id
   where a.user_id = account_id
     and a.email not like '%.invalid'
     and (u."emailVerified" is true
          or not exists (select 1 from metering.customers c where c.user_id = account_id))
$$;

-- Mails up to `batch` notices not yet mailed. SKIP LOCKED: several servers take disjoint batches,
-- and the dedupe key makes a notice one message whatever happens.
create function alerts.mail_due_notices(batch int, currency text) returns int
language plpgsql
as $$
declare
  mailed int;
begin
  with due as (
    select id from alerts.notices where mail_pending order by id limit batch for update skip locked
  ), marked as (
    update alerts.notices n set mail_pending = false from due where n.id = due.id
    returning n.id, n.user_id, n.kind, n.data
  )
  insert into mail.outbox (kind, to_address, user_id, data, dedupe_key)
  select 'low-balance', r.to_address, m.user_id,
         jsonb_build_object('name', r.person_name, 'currency', currency,
                            'availableCents', (m.data ->> 'availableCents')::bigint,
                            'thresholdCents', (m.data ->> 'thresholdCents')::bigint),
         'notice:' || m.id
    from marked m
    cross join lateral alerts.mail_recipient(m.user_id) r
   where m.kind = 'low_balance'
  on conflict (dedupe_key) do nothing;
  get diagnostics mailed = row_count;
  return mailed;
end
$$;

-- Announces, once per lot, credit that expires within `within_seconds`: lots with at least
-- `minimum_cents` left. The lot_reminders row is the "once", whichever server claims it first.
create function alerts.remind_expiring_lots(within_seconds int, minimum_cents bigint, batch int, currency text)
returns int
language plpgsql
as $$
declare
  claimed_count int;
begin
  with due as (
    select l.id, l.user_id, l.remaining_cents, l.expires_at
      from credits.lots l
     where l.expired_at is null and l.remaining_cents > 0 and l.remaining_cents >= minimum_cents
       and l.expires_at > now() and l.expires_at <= now() + make_interval(secs => within_seconds)
       and not exists (select 1 from alerts.lot_reminders r where r.lot_id = l.id)
     order by l.expires_at
     limit batch
  ), claimed as (
    insert into alerts.lot_reminders (lot_id, user_id, remaining_cents, expires_at)
    select id, user_id, remaining_cents, expires_at from due
    on conflict (lot_id) do nothing
    returning lot_id, user_id, remaining_cents, expires_at
  ), mailed as (
    insert into mail.outbox (kind, to_address, user_id, data, dedupe_key)
    select 'credits-expiring', r.to_address, c.user_id,
           jsonb_build_object('name', r.person_name, 'currency', currency,
                              'amountCents', c.remaining_cents,
                              'expiresAt', to_char(c.expires_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
           'lot-expiring:' || c.lot_id
      from claimed c
      cross join lateral alerts.mail_recipient(c.user_id) r
    on conflict (dedupe_key) do nothing
  )
  select count(*) into claimed_count from claimed;
  return claimed_count;
end
$$;

revoke all on function alerts.low_balance_threshold(text) from public;
revoke all on function alerts.balance_crossing() from public;
revoke all on function alerts.set_low_balance_threshold(text, bigint) from public;
revoke all on function alerts.mail_recipient(text) from public;
revoke all on function alerts.mail_due_notices(int, text) from public;
revoke all on function alerts.remind_expiring_lots(int, bigint, int, text) from public;

-- The two emails this adds. Whoever adds mail kinds after this migration keeps these in the list.
alter table mail.outbox drop constraint outbox_kind_check;
alter table mail.outbox add constraint outbox_kind_check check (kind in (
  'verify-email', 'reset-password', 'existing-account', 'password-changed', 'account-deleted', 'receipt',
  'auto-topup-failed', 'low-balance', 'credits-expiring'
));
