-- What every hold and settlement pays for the lots of 0013_credit_lots.sql, made cheaper; the rules
-- are unchanged.
--
-- A draw of nothing locks nothing. Every settlement asks the draw order for what its hold's lots did
-- not cover, which is nearly always 0 cents; the function still fetched the account's first lot FOR
-- UPDATE before it saw there was nothing to take, a row lock (a tuple write) per settlement that
-- protects nothing: the caller holds the account row, which every writer locks before its lots.
-- Otherwise the same order as 0013_credit_lots.sql, in one place.
create or replace function credits.lots_in_draw_order(account_id text, amount bigint, from_expired boolean)
returns table (lot_id bigint, take_cents bigint, step int)
language plpgsql
as $$
declare
  lot record;
  left_cents bigint := amount;
begin
  step := 0;
  if amount <= 0 then
    return;
  end if;
  for lot in
    select id, remaining_cents - held_cents as free_cents
      from credits.lots
     where user_id = account_id and remaining_cents > 0 and remaining_cents > held_cents and expired_at is null
       and (from_expired or expires_at is null or expires_at > now())
     order by (expires_at is not null and expires_at <= now()), expires_at nulls last,
              category = 'paid', id
       for update
  loop
    exit when left_cents = 0;
    lot_id := lot.id;
    take_cents := least(lot.free_cents, left_cents);
    step := step + 1;
    left_cents := left_cents - take_cents;
    return next;
  end loop;
end
$$;

-- Two helpers every hold or settlement calls were SQL functions that PostgreSQL cannot inline (one
-- writes, one reads a table), so each call parsed and planned its query again; as PL/pgSQL, the plan
-- is kept for the session. Same statements, same volatility: a volatile PL/pgSQL function also
-- takes a fresh snapshot for each query it runs, which expired_unswept_cents relies on (0013).
create or replace function credits.count_usage(account_id text, cents bigint) returns void
language plpgsql
as $$
begin
  update credits.accounts
     set month_usage_cents = credits.usage_this_month(usage_month, month_usage_cents) + cents,
         usage_month = credits.this_month()
   where user_id = account_id and spend_limit_cents is not null;
end
$$;

create or replace function credits.expired_unswept_cents(account_id text) returns bigint
language plpgsql volatile
as $$
begin
  return (
    select coalesce(sum(remaining_cents - held_cents), 0)::bigint
      from credits.lots
     where user_id = account_id and remaining_cents > 0 and remaining_cents > held_cents
       and expires_at <= now() and expired_at is null
  );
end
$$;

-- A hold that resolves gives back what it reserved and, when settled, pays its charge from the lots
-- it reserved in the order it reserved them: one write per lot for both, where 0013 wrote each lot
-- twice (the reservation back in one statement, then the charge in settle_from_lots). Same rows in
-- the end: a lot's reservation falls by what the hold reserved there, its credit by what the charge
-- took there, and whatever those lots could not cover comes from the account's other lots, then as
-- a debt, as before.
create or replace function credits.hold_frees_lots() returns trigger
language plpgsql
as $$
declare
  part record;
  take bigint;
  left_cents bigint := coalesce(new.settled_cents, 0);
  settle_entry bigint;
begin
  if left_cents > 0 then
    select id into settle_entry from credits.entries where idempotency_key = 'hold:' || new.id || ':settle';
    if settle_entry is null then
      raise exception 'settled hold % has no entry', new.id using errcode = 'restrict_violation';
    end if;
    perform credits.count_usage(new.user_id, left_cents);
  end if;
  for part in
    select p.lot_id, p.amount_cents from credits.hold_lots p where p.hold_id = new.id order by p.position
  loop
    take := least(part.amount_cents, left_cents);
    update credits.lots
       set held_cents = held_cents - part.amount_cents, remaining_cents = remaining_cents - take
     where id = part.lot_id;
    if take > 0 then
      insert into credits.lot_draws (entry_id, lot_id, user_id, amount_cents)
      values (settle_entry, part.lot_id, new.user_id, take);
      left_cents := left_cents - take;
    end if;
  end loop;
  -- Only a hold placed before lots existed reserved none: its charge comes from the credit it kept
  -- out of others' reach, and what a clawback took meanwhile becomes a debt, as the balance says.
  if left_cents > 0 then
    left_cents := credits.draw_from_lots(new.user_id, settle_entry, left_cents, true);
    if left_cents > 0 then
      insert into credits.lots (user_id, entry_id, category, amount_cents, remaining_cents)
      values (new.user_id, settle_entry, 'paid', -left_cents, -left_cents);
    end if;
  end if;
  -- What the hold gives back pays any debt a clawback left while the hold had that credit reserved.
  if exists (select 1 from credits.lots where user_id = new.user_id and remaining_cents < 0) then
    for part in select p.lot_id from credits.hold_lots p where p.hold_id = new.id order by p.position loop
      perform credits.pay_debts(part.lot_id, new.user_id, null);
    end loop;
  end if;
  return null;
end
$$;
drop function credits.settle_from_lots(bigint, text, bigint);
