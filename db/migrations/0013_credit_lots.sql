-- Credit lots (issue #17): every credit becomes a lot with a category (`paid` or `promo`) and an
-- optional expiry; spending draws from lots soonest-expiring first, promo before paid at the same
-- expiry, then oldest; a hold reserves from lots the same way; what is left of a lot past its expiry
-- is removed once by an `expiry` entry. The balance stays the sum of the entries (invariant 1), and
-- the lots always add up to it: sum(remaining_cents) = balance_cents.
--
-- The ledger's one-statement movements stay as they are. Lots follow them through row triggers that
-- run when the movement's statement ends: by then the statement has locked the account row, and
-- every writer of lots locks the account first, so one account's lots change one movement at a time
-- and each trigger statement (a fresh snapshot under READ COMMITTED) sees the lots as they are.

alter table credits.entries drop constraint entries_kind_check;
alter table credits.entries add constraint entries_kind_check check (
  kind in ('signup_bonus', 'purchase', 'usage', 'refund', 'dispute', 'dispute_reversal', 'adjustment',
           'promo_code', 'expiry')
);

create table credits.lots (
  id bigint generated always as identity primary key,
  user_id text not null references credits.accounts (user_id),
  -- The entry whose credit (or, for a debt lot, whose clawback) made the lot; null only for the
  -- opening lots this migration made from balances that existed before lots did.
  entry_id bigint references credits.entries (id),
  category text not null check (category in ('paid', 'promo')),
  -- Positive: credit. Negative: a debt, what a refund or lost dispute took beyond the credit left.
  amount_cents bigint not null check (amount_cents <> 0),
  remaining_cents bigint not null,
  -- Reserved by open holds; never more than what remains.
  held_cents bigint not null default 0,
  expires_at timestamptz,
  expired_at timestamptz,
  created_at timestamptz not null default now(),
  check (
    (amount_cents > 0 and remaining_cents between 0 and amount_cents and held_cents between 0 and remaining_cents)
    or (amount_cents < 0 and remaining_cents between amount_cents and 0 and held_cents = 0 and expires_at is null)
  ),
  check (expired_at is null or (expires_at is not null and remaining_cents = 0 and held_cents = 0))
);
comment on table credits.lots is
  'Where credit came from and what is left of it. sum(remaining_cents) of an account = its balance_cents.';
-- The draw order's candidates: one account's lots with credit left (every query of them says
-- `remaining_cents > 0`, so the planner can use this partial index), and its debts.
create index lots_user_open on credits.lots (user_id, expires_at, id) where remaining_cents > 0;
create index lots_user_debts on credits.lots (user_id, id) where remaining_cents < 0;
-- The sweeper's work: lots past their expiry with credit left.
create index lots_due on credits.lots (expires_at) where expired_at is null and remaining_cents > 0;
create unique index lots_entry on credits.lots (entry_id) where entry_id is not null;

-- Which lots each entry took credit from (or, for a grant that paid off a debt, gave it to).
create table credits.lot_draws (
  entry_id bigint not null references credits.entries (id),
  lot_id bigint not null references credits.lots (id),
  user_id text not null,
  amount_cents bigint not null check (amount_cents > 0),
  primary key (entry_id, lot_id)
);
create index lot_draws_lot on credits.lot_draws (lot_id);

-- What each open hold reserved of which lot; kept after the hold resolves (its settlement draws
-- from these lots first).
create table credits.hold_lots (
  hold_id bigint not null references credits.holds (id),
  lot_id bigint not null references credits.lots (id),
  user_id text not null,
  amount_cents bigint not null check (amount_cents > 0),
  position int not null,
  primary key (hold_id, lot_id)
);

-- Spend limits: a monthly cap on usage (charged this calendar month, UTC, plus credit held now).
-- month_usage_cents is kept only while a limit is set; setting one computes it from the entries.
alter table credits.accounts
  add column spend_limit_cents bigint check (spend_limit_cents between 0 and 100000000),
  add column month_usage_cents bigint not null default 0 check (month_usage_cents >= 0),
  add column usage_month date;

-- The first day of this month, UTC: what usage_month is compared with.
create function credits.this_month() returns date
language sql stable
as $$ select date_trunc('month', now() at time zone 'UTC')::date $$;

-- The spend limit's rule, in one place. An account's usage this month: its counter, when the
-- counter is this month's (a new month starts it again from zero).
create function credits.usage_this_month(usage_month date, month_usage_cents bigint) returns bigint
language sql stable
as $$ select case when usage_month = credits.this_month() then month_usage_cents else 0 end $$;

-- What the spend limit still allows this month: the limit less this month's usage and what is held
-- now (every hold is for usage). Null without a limit.
create function credits.spend_limit_room(spend_limit_cents bigint, held_cents bigint, usage_month date,
                                         month_usage_cents bigint) returns bigint
language sql stable
as $$ select spend_limit_cents - held_cents - credits.usage_this_month(usage_month, month_usage_cents) $$;

-- Counts usage charged now against the account's spend limit (kept only while a limit is set).
create function credits.count_usage(account_id text, cents bigint) returns void
language sql
as $$
  update credits.accounts
     set month_usage_cents = credits.usage_this_month(usage_month, month_usage_cents) + cents,
         usage_month = credits.this_month()
   where user_id = account_id and spend_limit_cents is not null
$$;

-- When this month began, UTC: the usage a spend limit counts is what was charged since.
create function credits.month_start() returns timestamptz
language sql stable
as $$ select date_trunc('month', now() at time zone 'UTC') at time zone 'UTC' $$;

-- Credit of lots past their expiry that the sweeper has not removed yet and no hold reserved: it is
-- in the balance but may not be spent, so every availability check subtracts it. VOLATILE on
-- purpose: a volatile function reads with a fresh snapshot, so when a check waited for the account
-- row and PostgreSQL re-evaluates it on the row's newest version, this reads the lots as they are
-- then too (a STABLE one would read the statement's older snapshot: after a sweep it would subtract
-- the swept credit twice and refuse a spend the account covers).
create function credits.expired_unswept_cents(account_id text) returns bigint
language sql volatile
as $$
  select coalesce(sum(remaining_cents - held_cents), 0)::bigint
    from credits.lots
   where user_id = account_id and remaining_cents > 0 and remaining_cents > held_cents and expires_at <= now()
     and expired_at is null
$$;

-- The draw order, in one place: which lots give how much of `amount`, from the account's available
-- (unreserved) credit, soonest-expiring first, promo before paid at the same expiry, then oldest.
-- Locks the lots it names. Lots past their expiry are never spent; only a clawback or a settlement
-- (which must go through) may take from them (`from_expired`), and then last. Gives less than
-- `amount` when the lots hold less.
create function credits.lots_in_draw_order(account_id text, amount bigint, from_expired boolean)
returns table (lot_id bigint, take_cents bigint, step int)
language plpgsql
as $$
declare
  lot record;
  left_cents bigint := amount;
begin
  step := 0;
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

-- Takes `amount` from the account's lots in the draw order, records each part against `entry`, and
-- answers what it could not take.
create function credits.draw_from_lots(account_id text, entry bigint, amount bigint, from_expired boolean)
returns bigint
language plpgsql
as $$
declare
  part record;
  left_cents bigint := amount;
begin
  for part in select * from credits.lots_in_draw_order(account_id, amount, from_expired) loop
    update credits.lots set remaining_cents = remaining_cents - part.take_cents where id = part.lot_id;
    insert into credits.lot_draws (entry_id, lot_id, user_id, amount_cents)
    values (entry, part.lot_id, account_id, part.take_cents)
    on conflict (entry_id, lot_id) do update set amount_cents = lot_draws.amount_cents + excluded.amount_cents;
    left_cents := left_cents - part.take_cents;
  end loop;
  return left_cents;
end
$$;

-- The guard behind the availability checks: they read the account row and the expired credit
-- (expired_unswept_cents) at slightly different moments; should a check ever let through more than
-- the unexpired lots hold, the statement is refused as a serialization failure, which the ledger
-- retries (execute.ts) with fresh reads, where the check is right. Never spends expired credit.
create function credits.refuse_stale_check(what text, short_cents bigint) returns void
language plpgsql
as $$
begin
  raise exception '% finds % cents fewer in unexpired lots than its check saw; retry', what, short_cents
    using errcode = 'serialization_failure';
end
$$;

-- Free credit of a lot (a new one, or one a hold just gave back) pays off the account's debt lots
-- first (oldest first), so a debt and spendable credit never stand side by side: what a clawback
-- could not take because a hold had it reserved, it takes when the hold lets go. `entry`, when
-- given, is the credit that paid (recorded in lot_draws).
create function credits.pay_debts(new_lot bigint, account_id text, entry bigint) returns void
language plpgsql
as $$
declare
  debt record;
  free_cents bigint;
  take bigint;
begin
  for debt in
    select id, -remaining_cents as owed_cents from credits.lots
     where user_id = account_id and remaining_cents < 0
     order by id
       for update
  loop
    select remaining_cents - held_cents into free_cents from credits.lots where id = new_lot;
    exit when free_cents <= 0;
    take := least(free_cents, debt.owed_cents);
    update credits.lots set remaining_cents = remaining_cents - take where id = new_lot;
    update credits.lots set remaining_cents = remaining_cents + take where id = debt.id;
    if entry is not null then
      insert into credits.lot_draws (entry_id, lot_id, user_id, amount_cents)
      values (entry, new_lot, account_id, take)
      on conflict (entry_id, lot_id) do update set amount_cents = lot_draws.amount_cents + excluded.amount_cents;
    end if;
  end loop;
end
$$;

-- Every entry moves lots: a credit made its lot in its own statement (the ledger's move) and pays
-- debts from it; a settlement is drawn by the hold's trigger below; an expiry empties its lot; a
-- clawback takes from the lot its purchase made first, then in the draw order, and what it cannot
-- find becomes a debt lot; any other debit draws in the draw order and must find all it needs.
create function credits.entry_moves_lots() returns trigger
language plpgsql
as $$
declare
  lot_id bigint;
  take bigint;
  left_cents bigint;
begin
  if new.amount_cents > 0 then
    select id into lot_id from credits.lots where entry_id = new.id;
    if lot_id is null then
      -- A credit written without its lot (by hand, in psql): a lot of its kind's category that never
      -- expires, so the lots still add up to the balance.
      insert into credits.lots (user_id, entry_id, category, amount_cents, remaining_cents)
      values (new.user_id, new.id,
              case when new.kind in ('signup_bonus', 'promo_code') then 'promo' else 'paid' end,
              new.amount_cents, new.amount_cents)
      returning id into lot_id;
    end if;
    perform credits.pay_debts(lot_id, new.user_id, new.id);
    return null;
  end if;
  if new.idempotency_key like 'hold:%:settle' then
    return null;
  end if;
  if new.kind = 'usage' then
    perform credits.count_usage(new.user_id, -new.amount_cents);
  end if;
  left_cents := -new.amount_cents;
  if new.kind = 'expiry' then
    lot_id := substring(new.reference from '^lot:([0-9]+)$')::bigint;
    update credits.lots
       set remaining_cents = remaining_cents - left_cents, expired_at = now()
     where id = lot_id and user_id = new.user_id and remaining_cents = left_cents and held_cents = 0
       and expired_at is null;
    if not found then
      raise exception 'expiry entry % does not match what is left of lot %', new.id, lot_id
        using errcode = 'restrict_violation';
    end if;
    insert into credits.lot_draws (entry_id, lot_id, user_id, amount_cents)
    values (new.id, lot_id, new.user_id, left_cents);
    return null;
  end if;
  if new.kind in ('refund', 'dispute') and new.reference is not null then
    for lot_id, take in
      select l.id, least(l.remaining_cents - l.held_cents, left_cents)
        from credits.lots l join credits.entries e on e.id = l.entry_id
       where l.user_id = new.user_id and e.kind = 'purchase' and e.reference = new.reference
         and l.remaining_cents > 0 and l.remaining_cents > l.held_cents and l.expired_at is null
         for update of l
    loop
      update credits.lots set remaining_cents = remaining_cents - take where id = lot_id;
      insert into credits.lot_draws (entry_id, lot_id, user_id, amount_cents)
      values (new.id, lot_id, new.user_id, take);
      left_cents := left_cents - take;
    end loop;
  end if;
  if new.kind in ('refund', 'dispute') then
    left_cents := credits.draw_from_lots(new.user_id, new.id, left_cents, true);
    if left_cents > 0 then
      insert into credits.lots (user_id, entry_id, category, amount_cents, remaining_cents)
      values (new.user_id, new.id, 'paid', -left_cents, -left_cents);
    end if;
    return null;
  end if;
  left_cents := credits.draw_from_lots(new.user_id, new.id, left_cents, false);
  if left_cents > 0 then
    perform credits.refuse_stale_check('entry ' || new.id, left_cents);
  end if;
  return null;
end
$$;
create trigger entries_move_lots
  after insert on credits.entries
  for each row execute function credits.entry_moves_lots();

-- A new hold reserves from lots in the draw order.
create function credits.hold_reserves_lots() returns trigger
language plpgsql
as $$
declare
  part record;
  left_cents bigint := new.amount_cents;
begin
  for part in select * from credits.lots_in_draw_order(new.user_id, new.amount_cents, false) loop
    update credits.lots set held_cents = held_cents + part.take_cents where id = part.lot_id;
    insert into credits.hold_lots (hold_id, lot_id, user_id, amount_cents, position)
    values (new.id, part.lot_id, new.user_id, part.take_cents, part.step);
    left_cents := left_cents - part.take_cents;
  end loop;
  if left_cents > 0 then
    perform credits.refuse_stale_check('hold ' || new.id, left_cents);
  end if;
  return null;
end
$$;
create trigger holds_reserve_lots
  after insert on credits.holds
  for each row execute function credits.hold_reserves_lots();

-- A hold that resolves gives back what it reserved; a settlement then draws its charge from the
-- lots the hold reserved, in the order it reserved them (they still have it: nothing else takes
-- reserved credit).
create function credits.hold_frees_lots() returns trigger
language plpgsql
as $$
declare
  part record;
  left_cents bigint := coalesce(new.settled_cents, 0);
begin
  update credits.lots l
     set held_cents = l.held_cents - p.amount_cents
    from credits.hold_lots p
   where p.hold_id = new.id and l.id = p.lot_id;
  if left_cents > 0 then
    perform credits.settle_from_lots(new.id, new.user_id, left_cents);
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

-- A settlement's charge, from the lots its hold reserved, in the order it reserved them.
create function credits.settle_from_lots(settled_hold bigint, account_id text, amount bigint) returns void
language plpgsql
as $$
declare
  part record;
  take bigint;
  left_cents bigint := amount;
  settle_entry bigint;
begin
  select id into settle_entry from credits.entries where idempotency_key = 'hold:' || settled_hold || ':settle';
  if settle_entry is null then
    raise exception 'settled hold % has no entry', settled_hold using errcode = 'restrict_violation';
  end if;
  perform credits.count_usage(account_id, left_cents);
  for part in
    select p.lot_id, p.amount_cents from credits.hold_lots p where p.hold_id = settled_hold order by p.position
  loop
    exit when left_cents = 0;
    take := least(part.amount_cents, left_cents);
    update credits.lots set remaining_cents = remaining_cents - take where id = part.lot_id;
    insert into credits.lot_draws (entry_id, lot_id, user_id, amount_cents)
    values (settle_entry, part.lot_id, account_id, take);
    left_cents := left_cents - take;
  end loop;
  -- Only a hold placed before lots existed reserved none: its charge comes from the credit it kept
  -- out of others' reach, and what a clawback took meanwhile becomes a debt, as the balance says.
  left_cents := credits.draw_from_lots(account_id, settle_entry, left_cents, true);
  if left_cents > 0 then
    insert into credits.lots (user_id, entry_id, category, amount_cents, remaining_cents)
    values (account_id, settle_entry, 'paid', -left_cents, -left_cents);
  end if;
end
$$;
create trigger holds_free_lots
  after update of status on credits.holds
  for each row when (old.status = 'open' and new.status <> 'open')
  execute function credits.hold_frees_lots();

-- The sweeper: removes what is left of lots past their expiry, one `expiry` entry per lot (its key
-- makes it once), account by account. Each account is locked before its lots, the order every other
-- writer keeps; an account busy elsewhere is skipped until the next sweep, and so is a lot that an
-- open hold still reserves part of (it expires once that hold resolves).
create function credits.expire_lots(max_lots int) returns int
language plpgsql
as $$
declare
  account_id text;
  lot record;
  done int := 0;
begin
  for account_id in
    select distinct user_id from credits.lots
     where expired_at is null and remaining_cents > 0 and expires_at <= now() and held_cents = 0
     limit max_lots
  loop
    exit when done >= max_lots;
    perform 1 from credits.accounts where user_id = account_id for no key update skip locked;
    continue when not found;
    for lot in
      select id, remaining_cents, category from credits.lots
       where user_id = account_id and expired_at is null and remaining_cents > 0 and held_cents = 0
         and expires_at <= now()
       order by expires_at, id
    loop
      -- The entry first, so what the balance change triggers (alerts, auto top-up) sees what caused it.
      insert into credits.entries (user_id, amount_cents, kind, idempotency_key, reference, description)
      values (account_id, -lot.remaining_cents, 'expiry', 'lot:' || lot.id || ':expiry', 'lot:' || lot.id,
              case when lot.category = 'promo' then 'Promotional credits expired' else 'Credits expired' end);
      update credits.accounts set balance_cents = balance_cents - lot.remaining_cents, updated_at = now()
       where user_id = account_id;
      done := done + 1;
    end loop;
  end loop;
  return done;
end
$$;

-- Opening lots for the balances that existed before lots: one paid lot without expiry per positive
-- balance, one debt lot per negative balance. Holds open now reserved no lot; their settlement draws
-- in the draw order (above), and the account's availability check keeps that credit for them.
insert into credits.lots (user_id, category, amount_cents, remaining_cents, created_at)
select user_id, 'paid', balance_cents, balance_cents, created_at
  from credits.accounts where balance_cents <> 0;

-- The last entry written before lots existed: entries up to it made no lot and drew from none (the
-- opening lots stand for them), which checks of the lots must know.
do $$
begin
  execute format(
    'create function credits.last_entry_before_lots() returns bigint language sql immutable as %L',
    'select ' || (select coalesce(max(id), 0) from credits.entries)::text
  );
end
$$;

revoke all on function credits.lots_in_draw_order(text, bigint, boolean) from public;
revoke all on function credits.draw_from_lots(text, bigint, bigint, boolean) from public;
revoke all on function credits.refuse_stale_check(text, bigint) from public;
revoke all on function credits.last_entry_before_lots() from public;
revoke all on function credits.pay_debts(bigint, text, bigint) from public;
revoke all on function credits.entry_moves_lots() from public;
revoke all on function credits.hold_reserves_lots() from public;
revoke all on function credits.hold_frees_lots() from public;
revoke all on function credits.settle_from_lots(bigint, text, bigint) from public;
revoke all on function credits.expire_lots(int) from public;
-- Reads a person makes under row-level security (their credit summary) use these three; they read
-- only what the policies let the caller see.
revoke all on function credits.expired_unswept_cents(text) from public;
revoke all on function credits.this_month() from public;
revoke all on function credits.month_start() from public;
revoke all on function credits.usage_this_month(date, bigint) from public;
revoke all on function credits.spend_limit_room(bigint, bigint, date, bigint) from public;
revoke all on function credits.count_usage(text, bigint) from public;
grant execute on function credits.expired_unswept_cents(text), credits.this_month(), credits.month_start(),
  credits.usage_this_month(date, bigint)
  to authenticated;

-- Like every credits table: RLS forced; a person may read their own lots and draws, nobody may write.
revoke all on credits.lots, credits.lot_draws, credits.hold_lots from public, anon, authenticated;
grant select on credits.lots, credits.lot_draws, credits.hold_lots to authenticated;
alter table credits.lots enable row level security;
alter table credits.lots force row level security;
create policy lots_select_own on credits.lots
  for select to authenticated using (user_id = (select credits.request_user_id()));
alter table credits.lot_draws enable row level security;
alter table credits.lot_draws force row level security;
create policy lot_draws_select_own on credits.lot_draws
  for select to authenticated using (user_id = (select credits.request_user_id()));
alter table credits.hold_lots enable row level security;
alter table credits.hold_lots force row level security;
create policy hold_lots_select_own on credits.hold_lots
  for select to authenticated using (user_id = (select credits.request_user_id()));
