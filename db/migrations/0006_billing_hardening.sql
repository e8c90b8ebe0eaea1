-- Billing hardening: only the Checkout Sessions Coinslot created are credited, and checkout calls
-- are counted per user so one signed-in loop cannot exhaust the merchant's Stripe rate limit.

-- Where a payment row came from. 'coinslot': Coinslot created the Checkout Session for this user,
-- amount and currency, and recorded it before sending anyone to pay; only such a row is credited.
-- 'stripe': a paid session Coinslot never created (a Payment Link, another product on the same
-- Stripe account) that names a user; it is kept for a person to look at and is never credited.
-- A column rather than the attention value, because a person clearing `attention` must not make a
-- foreign session creditable on Stripe's next delivery.
alter table credits.payments
  add column origin text not null default 'coinslot' check (origin in ('coinslot', 'stripe'));
alter table credits.payments
  add constraint payments_only_own_sessions_credited check (origin = 'coinslot' or credited_at is null);

-- Why a paid session was not credited. New: the session was not created here, names another user
-- than the one it was created for, or charged another amount than the one recorded.
alter table credits.payments drop constraint payments_attention_check;
alter table credits.payments
  add constraint payments_attention_check check (
    attention in ('unknown_user', 'currency_mismatch', 'amount_mismatch', 'user_mismatch', 'not_created_here')
  );

-- Attempts per user and action in the current fixed window, shared by every server process (an
-- in-memory count would give each process its own allowance). One row per user and action, updated
-- in place, so the table stays as small as the number of people who ever bought credits.
create table coinslot_private.rate_limits (
  user_id text not null check (length(user_id) between 1 and 255),
  action text not null check (action ~ '^[a-z_]{1,40}$'),
  window_started_at timestamptz not null,
  attempts integer not null check (attempts >= 0),
  primary key (user_id, action)
);

-- Bookkeeping like the migrations table: no privileges and RLS with no policy for the API roles;
-- only the server's own login (which bypasses RLS) reads and writes it.
revoke all on coinslot_private.rate_limits from public, anon, authenticated;
alter table coinslot_private.rate_limits enable row level security;
alter table coinslot_private.rate_limits force row level security;
