-- Personal keys: what a signed-in person's own scripts and apps present to the OpenAI-compatible
-- gateway (`POST /v1/chat/completions`) as `Authorization: Bearer cpk_...`, spending that person's
-- credits. Made on the web app's "API keys" page. Like service keys, only the SHA-256 of the secret
-- is kept, so a leaked table or backup gives no one a working key, and the secret is shown once.
-- The prefix (the secret's first characters) is how a person recognises a key in the list. A revoked
-- key keeps its row, so the list still explains which key once spent what.
create table metering.personal_keys (
  id bigint generated always as identity primary key,
  -- Auth's user id. No foreign key into auth's schema (auth owns its tables and their lifecycle);
  -- deleting an account deletes its keys (src/account/erase.ts).
  user_id text not null check (length(user_id) between 1 and 255),
  name text not null check (length(name) between 1 and 100 and length(btrim(name)) = length(name)),
  prefix text not null unique check (prefix ~ '^cpk_[A-Za-z0-9_-]{8}$'),
  secret_hash bytea not null unique check (length(secret_hash) = 32),
  -- The most this key may spend in a month, enforced by the gateway; null: no limit beyond the balance.
  monthly_limit_cents bigint check (monthly_limit_cents between 1 and 100000000),
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
-- A person's own list, and the count of their live keys (at most 20) before each new one.
create index personal_keys_user_id on metering.personal_keys (user_id);

-- Like every other metering table: no privileges and RLS with no policy for the API roles; only the
-- server's own login (which bypasses RLS) reads and writes it.
revoke all on metering.personal_keys from public, anon, authenticated;
alter table metering.personal_keys enable row level security;
alter table metering.personal_keys force row level security;

-- The gateway enforces a personal key's monthly limit by summing that key's holds this month, which
-- it finds by their idempotency-key prefix `gw:cpk:<key id>:`. The unique index on idempotency_key
-- uses the database's collation, which cannot answer `like 'prefix%'` unless the collation is C;
-- text_pattern_ops can, whatever the collation.
create index holds_key_prefix on credits.holds (idempotency_key text_pattern_ops);
