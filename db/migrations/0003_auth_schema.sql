-- Better Auth's tables, in a schema of their own. The columns are exactly what better-auth 1.7's
-- `getMigrations` compiles for email + password, Google and database rate limiting (checked against
-- the installed version), written here so the schema is reviewed and applied like every other change
-- instead of being generated at start.
--
-- A schema of its own, not `public`: on Supabase, default privileges grant ALL on every new `public`
-- table to anon and authenticated, and the Data API serves them to the browser. Sessions, password
-- hashes and OAuth tokens must never be reachable that way.

create schema if not exists auth_coinslot;
comment on schema auth_coinslot is 'Better Auth: users, sessions, credentials. Never exposed to anon or authenticated.';

create table auth_coinslot."user" (
  "id" text not null primary key,
  "name" text not null,
  -- Better Auth lowercases emails before storing them, so this is case-insensitive in practice.
  "email" text not null unique,
  "emailVerified" boolean not null,
  "image" text,
  "createdAt" timestamptz not null default current_timestamp,
  "updatedAt" timestamptz not null default current_timestamp
);

create table auth_coinslot."session" (
  "id" text not null primary key,
  "expiresAt" timestamptz not null,
  -- The cookie carries this token (signed); deleting the row is what signs a session out.
  "token" text not null unique,
  "createdAt" timestamptz not null default current_timestamp,
  "updatedAt" timestamptz not null,
  "ipAddress" text,
  "userAgent" text,
  "userId" text not null references auth_coinslot."user" ("id") on delete cascade
);
create index "session_userId_idx" on auth_coinslot."session" ("userId");

create table auth_coinslot."account" (
  "id" text not null primary key,
  "accountId" text not null,
  "providerId" text not null,
  "userId" text not null references auth_coinslot."user" ("id") on delete cascade,
  "accessToken" text,
  "refreshToken" text,
  "idToken" text,
  "accessTokenExpiresAt" timestamptz,
  "refreshTokenExpiresAt" timestamptz,
  "scope" text,
  -- The password hash for provider 'credential': argon2id (PHC string), or Better Auth's scrypt format.
  "password" text,
  "createdAt" timestamptz not null default current_timestamp,
  "updatedAt" timestamptz not null
);
create index "account_userId_idx" on auth_coinslot."account" ("userId");

create table auth_coinslot."verification" (
  "id" text not null primary key,
  "identifier" text not null,
  "value" text not null,
  "expiresAt" timestamptz not null,
  "createdAt" timestamptz not null default current_timestamp,
  "updatedAt" timestamptz not null default current_timestamp
);
create index "verification_identifier_idx" on auth_coinslot."verification" ("identifier");

-- Sign-in and sign-up attempts per client address and path, shared by every server process.
create table auth_coinslot."rateLimit" (
  "id" text not null primary key,
  "key" text not null unique,
  "count" integer not null,
  -- Milliseconds since the epoch of the latest counted attempt.
  "lastRequest" bigint not null
);

-- Out of reach of the API roles twice over: no privileges, and RLS enabled with no policy, so even a
-- later `grant` (or Supabase's default privileges) exposes no row to anon or authenticated. Enabled but
-- not forced: the table owner (the server's own login, which Better Auth uses) is exempt, so sign-in
-- keeps working on a login without BYPASSRLS.
revoke all on schema auth_coinslot from public, anon, authenticated;
revoke all on all tables in schema auth_coinslot from public, anon, authenticated;
alter table auth_coinslot."user" enable row level security;
alter table auth_coinslot."session" enable row level security;
alter table auth_coinslot."account" enable row level security;
alter table auth_coinslot."verification" enable row level security;
alter table auth_coinslot."rateLimit" enable row level security;
