-- A refund or lost dispute of a purchase whose credit already expired (paid lots expire only with
-- PAID_CREDIT_DAYS set): the expiry already took that credit back, so the clawback must not take it
-- again. Billing claws back only what did not expire, and keeps count of what it let go per payment,
-- so two partial refunds do not both let the same expired credit go.
alter table credits.payments
  add column expired_forgiven_cents bigint not null default 0 check (expired_forgiven_cents >= 0);

-- What a lost dispute actually took back (less what had expired); a won dispute returns that much.
-- Null for disputes from before: they took their whole amount.
alter table credits.disputes
  add column clawed_back_cents bigint check (clawed_back_cents >= 0);
