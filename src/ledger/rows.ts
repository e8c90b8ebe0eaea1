import type { Account, Balance, Entry, EntryKind, Hold, HoldStatus } from "./types.js";

/**
 * Rows as PostgreSQL returns them: straight from a table (Date, number) or through `to_jsonb` in a
 * combined statement (ISO text, number). bigint is parsed as a number by the pool.
 */
export type EntryRow = {
  id: number | string;
  user_id: string;
  amount_cents: number;
  kind: string;
  idempotency_key: string;
  reference: string | null;
  description: string;
  created_at: Date | string;
};

export type HoldRow = {
  id: number | string;
  user_id: string;
  amount_cents: number;
  settled_cents: number | null;
  status: string;
  idempotency_key: string;
  description: string;
  expires_at: Date | string;
  created_at: Date | string;
  resolved_at: Date | string | null;
};

export type BalanceRow = { user_id: string; balance_cents: number; held_cents: number };

export type AccountRow = BalanceRow & { email: string; created_at: Date | string };

export function toEntry(row: EntryRow): Entry {
  return {
    id: String(row.id),
    userId: row.user_id,
    amountCents: Number(row.amount_cents),
    kind: row.kind as EntryKind,
    idempotencyKey: row.idempotency_key,
    reference: row.reference,
    description: row.description,
    createdAt: new Date(row.created_at),
  };
}

export function toHold(row: HoldRow): Hold {
  return {
    id: String(row.id),
    userId: row.user_id,
    amountCents: Number(row.amount_cents),
    settledCents: row.settled_cents === null ? null : Number(row.settled_cents),
    status: row.status as HoldStatus,
    idempotencyKey: row.idempotency_key,
    description: row.description,
    expiresAt: new Date(row.expires_at),
    createdAt: new Date(row.created_at),
    resolvedAt: row.resolved_at === null ? null : new Date(row.resolved_at),
  };
}

export function toBalance(row: BalanceRow): Balance {
  const balanceCents = Number(row.balance_cents);
  const heldCents = Number(row.held_cents);
  return { userId: row.user_id, balanceCents, heldCents, availableCents: balanceCents - heldCents };
}

export function toAccount(row: AccountRow): Account {
  return {
    userId: row.user_id,
    email: row.email,
    balanceCents: Number(row.balance_cents),
    heldCents: Number(row.held_cents),
    createdAt: new Date(row.created_at),
  };
}
