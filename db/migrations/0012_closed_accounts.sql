-- A deleted account forgets its email (Ledger.closeAccount) but keeps a fingerprint of it: SHA-256 of
-- 'coinslot:' and the lowercased address. Not the address (nothing here mails or shows it), but
-- enough to recognise the same address signing up again, which gets no second starter grant: delete
-- and sign up again must not be a way to mint credits.
alter table credits.accounts add column closed_email_sha256 bytea
  check (closed_email_sha256 is null or length(closed_email_sha256) = 32);
create index accounts_closed_email on credits.accounts (closed_email_sha256)
  where closed_email_sha256 is not null;

-- The fingerprint, in one place for the ledger's statements.
create function credits.email_fingerprint(email text) returns bytea
language sql immutable strict
as $$ select sha256(convert_to('coinslot:' || lower(email), 'UTF8')) $$;
revoke all on function credits.email_fingerprint(text) from public;
