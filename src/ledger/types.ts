import type { PoolClient } from "../db/pool.js";

/**
 * The ledger's public contract. Only `src/ledger/` writes credit tables; everything else calls this.
 * Expected failures are values (`{ data, error }`), recognised by `error.code`, never thrown.
 * Every change carries an idempotency key: repeating a call with the same key and the same arguments
 * returns the first result (`replayed: true`) and changes nothing; the same key with different
 * arguments is refused with IDEMPOTENCY_KEY_REUSED.
 */
export type LedgerErrorCode =
  | "INVALID_AMOUNT"
  | "INVALID_ARGUMENT"
  | "ACCOUNT_NOT_FOUND"
  | "INSUFFICIENT_CREDITS"
  | "SPEND_LIMIT_REACHED"
  | "HOLD_NOT_FOUND"
  | "HOLD_NOT_OPEN"
  | "IDEMPOTENCY_KEY_REUSED";

export type LedgerError = {
  code: LedgerErrorCode;
  message: string;
  /** For INSUFFICIENT_CREDITS: what was needed and what is available; for SPEND_LIMIT_REACHED, what the limit has left. */
  neededCents?: number;
  availableCents?: number;
};

export type Result<T> = { data: T; error: null } | { data: null; error: LedgerError };

export type EntryKind =
  | "signup_bonus"
  | "purchase"
  | "usage"
  | "refund"
  | "dispute"
  | "dispute_reversal"
  | "adjustment"
  | "promo_code"
  | "expiry";

/** Paid credit (purchases, adjustments) or promotional credit (signup bonus, promo codes). */
export type LotCategory = "paid" | "promo";

/** One lot an entry made (a credit) or took credit from (a debit), and how much of it. */
export type EntryLot = { lotId: string; category: LotCategory; amountCents: number; expiresAt: Date | null };

export type Entry = {
  id: string;
  userId: string;
  amountCents: number;
  kind: EntryKind;
  idempotencyKey: string;
  reference: string | null;
  description: string;
  createdAt: Date;
};

export type Balance = { userId: string; balanceCents: number; heldCents: number; availableCents: number };

/** The balance with what lots and limits add; see Ledger.getCreditSummary. */
export type CreditSummary = Balance & {
  /** The credit that expires soonest (every lot expiring at that moment together), or null. */
  nextExpiry: { amountCents: number; expiresAt: Date } | null;
  /** The monthly cap on usage, or null for none. */
  spendLimitCents: number | null;
  /** Usage charged this calendar month (UTC); null when not asked for and no limit counts it. */
  monthUsageCents: number | null;
};

/** The outcome of a change: the entry written (or found, when replayed) and the balance after it (the current balance when replayed). */
export type Change = { entry: Entry; balance: Balance; replayed: boolean };

export type HoldStatus = "open" | "settled" | "released" | "expired";

export type Hold = {
  id: string;
  userId: string;
  amountCents: number;
  settledCents: number | null;
  status: HoldStatus;
  idempotencyKey: string;
  description: string;
  expiresAt: Date;
  createdAt: Date;
  resolvedAt: Date | null;
};

export type Account = {
  userId: string;
  email: string;
  balanceCents: number;
  heldCents: number;
  createdAt: Date;
};

/**
 * Operations accept an optional `client` to run inside the caller's transaction (billing records the
 * Stripe event and the payment in the same transaction as the credit). Without one, each operation
 * is its own transaction. Inside one, an operation runs under a savepoint so a refused statement
 * leaves the transaction usable; `savepoint: false` saves those two round trips for a caller that
 * rolls back on any thrown error anyway, and then a replayed key's unique violation or a deadlock
 * is thrown (the caller retries the whole transaction) instead of being answered or retried here.
 */
export type InTransaction = { client?: PoolClient; savepoint?: boolean };

/**
 * A write of another module that the hold protocol sends right behind its hold statement, in the
 * caller's transaction (`{ ...statement, values }`); its SQL guards it with `holdPlacedByThisTransaction`
 * or `holdResolvedAs`, so it changes nothing unless the hold came out as required. See hold-protocol.ts.
 */
export type DependentWrite = { name?: string; text: string; values: unknown[] };

/** The hold protocol's answer: what the hold statement came to, and the rows each write changed, in order. */
export type Guarded<T> = { result: Result<T>; rowCounts: number[] };

/** The hold protocol runs in the caller's transaction, never under a savepoint; see hold-protocol.ts. */
export type HoldProtocol = { client: PoolClient; writes: readonly DependentWrite[] };

export type PlaceHoldRequest = {
  userId: string;
  amountCents: number;
  idempotencyKey: string;
  description?: string;
  ttlSeconds?: number;
};
export type PlacedHold = { hold: Hold; balance: Balance; replayed: boolean };
export type SettleHoldRequest = {
  holdId: string;
  amountCents: number;
  description?: string;
  reference?: string;
};
export type SettledHold = { hold: Hold; entry: Entry | null; balance: Balance };

export type Ledger = {
  /** Creates the account with a `signup_bonus` entry (a promo lot) of `signupBonusCents` exactly once (key `signup:<userId>`). */
  ensureAccount(
    input: { userId: string; email: string; signupBonusCents: number } & InTransaction,
  ): Promise<Result<{ account: Account; created: boolean }>>;
  /**
   * For a person who deletes their account: releases every open hold and replaces the account's
   * email by an address that names nobody. The account, its balance and its entries stay (append-only).
   * Idempotent; `found` is false when the person never had a credits account.
   */
  closeAccount(
    input: { userId: string } & InTransaction,
  ): Promise<Result<{ releasedHolds: number; found: boolean }>>;
  /**
   * Adds credit (signup bonus, purchase, positive adjustment, won dispute, promo code) as a new lot.
   * `category` defaults to promo for signup_bonus and promo_code, paid otherwise; `expiresAt` to
   * PROMO_CREDIT_DAYS (promo) or PAID_CREDIT_DAYS (paid, never when unset) from now; null: never.
   */
  grant(
    input: {
      userId: string;
      amountCents: number;
      kind: "signup_bonus" | "purchase" | "adjustment" | "dispute_reversal" | "promo_code";
      idempotencyKey: string;
      reference?: string;
      description?: string;
      category?: LotCategory;
      expiresAt?: Date | null;
    } & InTransaction,
  ): Promise<Result<Change>>;
  /** Takes credit only if available credit covers it (usage, negative adjustment). */
  spend(
    input: {
      userId: string;
      amountCents: number;
      kind?: "usage" | "adjustment";
      idempotencyKey: string;
      reference?: string;
      description?: string;
    } & InTransaction,
  ): Promise<Result<Change>>;
  /** Takes credit back after a refund or dispute; the only path that may leave a negative balance. */
  clawBack(
    input: {
      userId: string;
      amountCents: number;
      kind: "refund" | "dispute";
      idempotencyKey: string;
      reference?: string;
      description?: string;
    } & InTransaction,
  ): Promise<Result<Change>>;
  /** Reserves credit for `ttlSeconds` (default HOLD_TTL_SECONDS), only if available credit covers it. */
  placeHold(input: PlaceHoldRequest & InTransaction): Promise<Result<PlacedHold>>;
  /**
   * Charges `amountCents` (0 to the held amount) as a `usage` entry and releases the rest. Once: a
   * second settle or release is HOLD_NOT_OPEN, as is settling a hold past its expiry (which expires
   * it); more than was held is INVALID_AMOUNT and changes nothing.
   */
  settleHold(input: SettleHoldRequest & InTransaction): Promise<Result<SettledHold>>;
  /** Releases an open hold without charging. Once. */
  releaseHold(input: { holdId: string } & InTransaction): Promise<Result<{ hold: Hold; balance: Balance }>>;
  /**
   * placeHold, then `writes` guarded by `holdPlacedByThisTransaction`, in the caller's transaction and
   * one round trip (the hold protocol, hold-protocol.ts). A replayed key's unique violation is thrown.
   */
  placeHoldThen(input: PlaceHoldRequest & HoldProtocol): Promise<Guarded<PlacedHold>>;
  /** settleHold, then `writes` guarded by `holdResolvedAs`, as placeHoldThen does. */
  settleHoldThen(input: SettleHoldRequest & HoldProtocol): Promise<Guarded<SettledHold>>;
  /** releaseHold, then `writes` guarded by `holdResolvedAs`, as placeHoldThen does. */
  releaseHoldThen(
    input: { holdId: string } & HoldProtocol,
  ): Promise<Guarded<{ hold: Hold; balance: Balance }>>;
  /** The hold as it is now: open, or how it resolved (`status`, `settledCents`). */
  getHold(holdId: string): Promise<Result<Hold>>;
  /** Marks open holds past `expires_at` as expired and frees their credit; safe to run from many processes. */
  sweepExpiredHolds(input?: { limit?: number }): Promise<{ expired: number }>;
  getBalance(userId: string): Promise<Result<Balance>>;
  /** The balance with the credit that expires next, this month's usage and the spend limit. */
  getCreditSummary(userId: string): Promise<Result<CreditSummary>>;
  /**
   * Sets (or, with null, removes) the monthly cap on usage: a spend of kind usage or a hold that would
   * take this month's usage plus held credit past it is refused with SPEND_LIMIT_REACHED.
   */
  setSpendLimit(input: {
    userId: string;
    monthlyLimitCents: number | null;
  }): Promise<Result<{ spendLimitCents: number | null; monthUsageCents: number }>>;
  /**
   * How much of the credit the purchase `reference` bought has expired, with the account locked for
   * the rest of the caller's transaction: a clawback of that purchase must not take it again.
   */
  expiredOfPurchase(
    input: { userId: string; reference: string } & { client: PoolClient },
  ): Promise<Result<{ expiredCents: number }>>;
  /** Removes what is left of lots past their expiry, one `expiry` entry each; safe from many processes. */
  sweepExpiredLots(input?: { limit?: number }): Promise<{ expired: number }>;
  /** Newest first; `limit` 1 to 100 (default 20); `cursor` is the `nextCursor` of the previous page. */
  listEntries(input: {
    userId: string;
    limit?: number;
    cursor?: string;
  }): Promise<Result<{ entries: (Entry & { lots: EntryLot[] })[]; nextCursor: string | null }>>;
};
