-- Outgoing email: verification links, password resets, notices to an address's owner, and purchase
-- receipts. Every message is written here first, in the transaction of what caused it (a receipt in
-- the purchase's own transaction, by a trigger), and sent after commit by the mail sender with
-- retries, so a message is never lost with a crashed process nor sent for a cause that rolled back.
-- Locally, without SMTP_URL, this table is the mailbox that /dev/mailbox shows.
create schema if not exists mail;
revoke all on schema mail from public, anon, authenticated;

-- One row per message. `kind` chooses the template the server renders at send time from `data`, so
-- the SQL side (the receipt trigger) only states facts. `dedupe_key` makes enqueueing idempotent:
-- the same receipt or notice twice is one message. `next_attempt_at` doubles as the sender's lease,
-- as in metering.webhook_outbox: a claimed row is pushed past the attempt's timeout, so no two
-- senders (on one server or several) ever send one message at once.
-- `delivery` says where a sent message went: 'smtp', or 'local-mailbox' when a server without
-- SMTP_URL kept it for /dev/mailbox. Such a message is done: setting SMTP_URL later never mails what
-- was only ever meant for a developer's eyes to the real people those addresses may belong to.
create table mail.outbox (
  id bigint generated always as identity primary key,
  kind text not null check (kind in (
    'verify-email', 'reset-password', 'existing-account', 'password-changed', 'account-deleted', 'receipt'
  )),
  to_address text not null check (length(to_address) between 3 and 320),
  user_id text,
  data jsonb not null check (length(data::text) <= 8000),
  dedupe_key text unique check (length(dedupe_key) <= 300),
  created_at timestamptz not null default now(),
  status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
  attempts int not null default 0 check (attempts between 0 and 1000),
  next_attempt_at timestamptz not null default now(),
  last_attempt_at timestamptz,
  last_error text check (length(last_error) <= 500),
  sent_at timestamptz,
  delivery text check (delivery in ('smtp', 'local-mailbox')),
  check ((status = 'sent') = (sent_at is not null)),
  check ((status = 'sent') = (delivery is not null))
);
-- The sender looks only at pending rows, the most overdue first.
create index outbox_due on mail.outbox (next_attempt_at) where status = 'pending';
-- The mailbox, newest first.
create index outbox_recent on mail.outbox (id desc);
-- A person deleting their account takes their mail with them.
create index outbox_user on mail.outbox (user_id) where user_id is not null;

-- A receipt for every credited purchase, written by the purchase itself. A checkout session is
-- credited by exactly one purchase entry (its ledger key `purchase:<session>`), whichever of Stripe's
-- webhook (delivered any number of times) or the success page gets there first, so one receipt per
-- purchase follows from one row per entry; the dedupe key says so once more.
--
-- Row-level AFTER triggers run when their statement ends, so the ledger's one-statement movement
-- (balance and entry together) is complete when this reads the balance after the purchase.
--
-- Who gets one:
-- * A Coinslot user who is no app's customer: always, at the account's email, which they gave us.
-- * An app's customer (made by PUT /v1/customers with an address the app supplied): only once that
--   address is verified, that is once the person has shown Coinslot it is theirs (Google sign-in, a
--   verification link, or the reset link that sets their first password). Until then the buyer is
--   the app's customer, not ours: the app hears of the purchase by its credits.purchased webhook and
--   sends its own receipt, and Stripe can send one for the payment. Mailing an address nobody proved
--   would let any app with a service key make Coinslot write to strangers.
-- * Nobody at an address in the reserved .invalid domain: that is what the ledger puts in place of
--   the email of a deleted account, whose late-arriving purchase is still credited but mailed to no one.
-- * Nobody for a purchase entry that names no recorded checkout: Coinslot records every session
--   before creating it, so only an entry written by hand lacks one, and a receipt without the
--   payment's currency would be wrong.
--
-- `paidAt` is when the purchase was credited (the entry's time), in UTC; `reference` is the Checkout
-- Session id, which finds the payment in Stripe's dashboard and in the ledger's entries.
--
-- Every value is bounded here (the name cut to 200 characters), so no receipt can fail the row's
-- checks and, with them, the purchase that writes it.
create function mail.purchase_receipt() returns trigger
language plpgsql
as $$
declare
  receipt_to text;
  balance_after_cents bigint;
  payment_currency text;
  person_name text;
  verified boolean;
begin
  select p.currency into payment_currency from credits.payments p where p.checkout_session_id = new.reference;
  if payment_currency is null then
    return null;
  end if;
  select a.email, a.balance_cents into receipt_to, balance_after_cents
    from credits.accounts a where a.user_id = new.user_id;
  if receipt_to is null or receipt_to like '%.invalid' then
    return null;
  end if;
  select left(u.name, 200), u."emailVerified" into person_name, verified
    from auth_coinslot."user" u where u.id = new.user_id;
  if exists (select 1 from metering.customers c where c.user_id = new.user_id) and verified is not true then
    return null;
  end if;
  insert into mail.outbox (kind, to_address, user_id, data, dedupe_key)
  values (
    'receipt',
    receipt_to,
    new.user_id,
    jsonb_build_object(
      'name', person_name,
      'amountCents', new.amount_cents,
      'currency', payment_currency,
      'paidAt', to_char(new.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
      'reference', new.reference,
      'balanceCents', balance_after_cents,
      'entryId', new.id::text
    ),
    'receipt:' || new.id
  )
  on conflict (dedupe_key) do nothing;
  return null;
end
$$;
create trigger entries_receipt
  after insert on credits.entries
  for each row when (new.kind = 'purchase')
  execute function mail.purchase_receipt();

-- No privileges and RLS with no policy for the API roles: messages carry links that sign a person in
-- or reset a password. Only the server's own login (which bypasses RLS) reads and writes them. The
-- function runs only as the trigger.
revoke all on mail.outbox from public, anon, authenticated;
revoke all on function mail.purchase_receipt() from public;
alter table mail.outbox enable row level security;
alter table mail.outbox force row level security;
