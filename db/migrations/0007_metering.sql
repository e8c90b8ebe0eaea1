-- The metering API (/v1/*): other apps' backends spend Coinslot credits on behalf of their own users.
-- Its tables live in a schema of their own so that the API roles can be kept out of it wholesale.
create schema metering;
revoke all on schema metering from public, anon, authenticated;

-- Service keys: what an app's backend presents as `Authorization: Bearer csk_...`. Only the SHA-256
-- of the secret is kept, so a leaked table or backup gives no one a working key; the secret is
-- shown once when the key is made. The prefix (the secret's first characters) is what a person
-- recognises a key by in lists and what `service-key revoke` accepts. A revoked key keeps its row,
-- so lists still explain which key once spent what.
create table metering.service_keys (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(btrim(name)) between 1 and 100),
  prefix text not null unique check (prefix ~ '^csk_(live|test)_[A-Za-z0-9_-]{8}$'),
  secret_sha256 bytea not null unique check (length(secret_sha256) = 32),
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);

-- Customers: an app's own user id mapped to the Coinslot user (auth's user table) whose credits
-- account they spend from. One Coinslot user per customer and one customer per Coinslot user, so a
-- balance is never shared by two of an app's users by accident. No foreign key into auth's schema:
-- auth owns its tables and their lifecycle, and credits accounts are never deleted either.
create table metering.customers (
  id text primary key check (id ~ '^[A-Za-z0-9_.:@-]{1,128}$'),
  user_id text not null unique check (length(user_id) between 1 and 255),
  created_at timestamptz not null default now()
);

-- Like every other table: no privileges and RLS with no policy for the API roles; only the server's
-- own login (which bypasses RLS) reads and writes them.
revoke all on metering.service_keys, metering.customers from public, anon, authenticated;
alter table metering.service_keys enable row level security;
alter table metering.service_keys force row level security;
alter table metering.customers enable row level security;
alter table metering.customers force row level security;
