-- The OpenAI-compatible gateway (`POST /v1/chat/completions`): a call sent with an Idempotency-Key
-- is remembered here, so a retry is answered from the first call and charged once. The row is
-- written by the hold protocol in the transaction that places the call's hold (it exists only if
-- the hold does), and finished in the transaction that settles or releases it (it says what was
-- charged only if the ledger charged it). Calls without the header leave no row.
create table metering.gateway_calls (
  -- Who called and with which key: `cpk:<key id>:<Idempotency-Key>` or
  -- `csk:<key id>:<customer>:<Idempotency-Key>`, so two callers' keys never collide.
  scope text primary key check (length(scope) <= 700),
  user_id text not null check (length(user_id) between 1 and 255),
  hold_key text not null unique,
  -- What the request asked (a hash of its body): the same key with another request is refused.
  request_hash text not null check (length(request_hash) = 64),
  model text not null check (length(model) <= 200),
  status text not null default 'streaming' check (status in ('streaming', 'completed', 'failed')),
  text text check (length(text) <= 2000000),
  finish_reason text,
  input_tokens int,
  output_tokens int,
  charged_cents bigint,
  created_at timestamptz not null default now(),
  finished_at timestamptz
);
create index gateway_calls_user on metering.gateway_calls (user_id, created_at desc);

revoke all on metering.gateway_calls from public, anon, authenticated;
alter table metering.gateway_calls enable row level security;
alter table metering.gateway_calls force row level security;
