-- Saved conversations of the metered chat. Not credits, so a schema of its own, under the same rules:
-- RLS enabled and FORCED, each signed-in user reads only their own rows, and only the server writes.
-- Every table carries user_id first in its key, so the schema shards by user like credits does.

create schema if not exists chat;
comment on schema chat is 'Coinslot chat history. Only src/ai/ writes here.';

create table chat.conversations (
  user_id text not null check (length(user_id) between 1 and 255),
  -- The id useChat generates for the chat; unique per user, so one user cannot collide with another.
  id text not null check (id ~ '^[A-Za-z0-9_-]{1,100}$'),
  title text not null check (length(title) between 1 and 200),
  model text not null check (length(model) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (user_id, id)
);
-- The conversation list, most recently used first.
create index conversations_user_id_updated_at on chat.conversations (user_id, updated_at desc);

create table chat.messages (
  user_id text not null,
  id text not null check (id ~ '^[A-Za-z0-9_-]{1,100}$'),
  conversation_id text not null,
  -- Order of the conversation, whatever clocks say.
  position bigint generated always as identity,
  role text not null check (role in ('user', 'assistant')),
  parts jsonb not null check (jsonb_typeof(parts) = 'array'),
  -- Assistant answers only: the user message answered, which attempt (a regeneration is a new
  -- attempt and a new hold), how it ended, what it charged and the token counts charged on.
  reply_to text,
  attempt integer check (attempt between 0 and 1000),
  status text check (status in ('streaming', 'completed', 'failed')),
  charged_cents bigint check (charged_cents >= 0),
  metadata jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (user_id, id),
  foreign key (user_id, conversation_id) references chat.conversations (user_id, id),
  check ((role = 'assistant') = (reply_to is not null and attempt is not null and status is not null)),
  -- Two requests racing to answer the same message cannot both start the same attempt.
  unique (user_id, reply_to, attempt)
);
create index messages_conversation on chat.messages (user_id, conversation_id, position);

-- Supabase grants ALL on new tables to the API roles by default privileges: revoke, then allow reads.
revoke all on all tables in schema chat from public, anon, authenticated;
revoke all on schema chat from public, anon;
grant usage on schema chat to authenticated;
grant select on chat.conversations, chat.messages to authenticated;

-- Forced RLS: even the table owner obeys the policies; only the server's own login (which bypasses
-- RLS) writes. No policy for anon, and no write policy for anyone.
alter table chat.conversations enable row level security;
alter table chat.conversations force row level security;
-- A person may list and reopen their own conversations, never another's.
create policy conversations_select_own on chat.conversations
  for select to authenticated using (user_id = (select credits.request_user_id()));

alter table chat.messages enable row level security;
alter table chat.messages force row level security;
-- A person may read the messages of their own conversations, never another's.
create policy messages_select_own on chat.messages
  for select to authenticated using (user_id = (select credits.request_user_id()));
