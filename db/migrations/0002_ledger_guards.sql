-- Ledger guards: the database itself refuses what the ledger module must never do, so a bug in
-- application code (or a hand-written query in psql) cannot break the invariants of DESIGN.md.

-- A hold resolves exactly once (invariant 5): once settled, released or expired it never changes
-- again, and what was reserved (who, how much, under which key, until when) is never rewritten.
create function credits.guard_hold_change() returns trigger
language plpgsql
as $$
begin
  if tg_op = 'DELETE' then
    raise exception 'credits.holds keeps every reservation: DELETE is refused'
      using errcode = 'restrict_violation';
  end if;
  if old.status <> 'open' then
    raise exception 'hold % is already %; a hold resolves exactly once', old.id, old.status
      using errcode = 'restrict_violation';
  end if;
  if new.id <> old.id or new.user_id <> old.user_id or new.amount_cents <> old.amount_cents
     or new.idempotency_key <> old.idempotency_key or new.expires_at <> old.expires_at
     or new.created_at <> old.created_at then
    raise exception 'hold % may change only its status and settlement', old.id
      using errcode = 'restrict_violation';
  end if;
  return new;
end
$$;
revoke all on function credits.guard_hold_change() from public;
create trigger holds_resolve_once
  before update or delete on credits.holds
  for each row execute function credits.guard_hold_change();

-- An account is the anchor of its history: it is never deleted and never changes owner, so the
-- sum of its entries always has somewhere to live (invariant 1).
create function credits.guard_account_change() returns trigger
language plpgsql
as $$
begin
  if tg_op = 'DELETE' then
    raise exception 'credits.accounts keeps every account: DELETE is refused'
      using errcode = 'restrict_violation';
  end if;
  if new.user_id <> old.user_id then
    raise exception 'account % may not change its user id', old.user_id
      using errcode = 'restrict_violation';
  end if;
  return new;
end
$$;
revoke all on function credits.guard_account_change() from public;
-- `update of user_id`: the trigger fires only when a statement sets user_id, so the hot path (every
-- spend updates the balance) pays nothing for it.
create trigger accounts_keep
  before update of user_id or delete on credits.accounts
  for each row execute function credits.guard_account_change();
