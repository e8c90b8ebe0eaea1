import type { EntryKind } from "../../../src/ledger/types.js";

export type { EntryKind };

/** The server's answers, as DESIGN.md names them. */
export type PublicConfig = {
  topup: { minCents: number; maxCents: number; stepCents: number; defaultCents: number };
  currency: string;
  googleEnabled: boolean;
  newUserCreditsCents: number;
  requireEmailVerification: boolean;
  localMailbox: boolean;
};

export type User = { id: string; email: string; name: string; emailVerified: boolean; isAdmin: boolean };

export type Me = {
  user: User;
  balanceCents: number;
  heldCents: number;
  /** The credit that expires soonest and when (ISO), or null when none of it expires. */
  nextExpiry?: { amountCents: number; expiresAt: string } | null;
  spendLimitCents?: number | null;
  monthUsageCents?: number | null;
};

/** A ledger entry as JSON: not the server's `Entry`, whose dates are `Date`s and which carries more. */
export type Entry = {
  id: string;
  amountCents: number;
  kind: EntryKind;
  description: string;
  createdAt: string;
  reference?: string | null;
  /** The lot a credit made, or the lots a debit took from. */
  lots?: EntryLot[];
};

export type EntryLot = {
  lotId: string;
  category: "paid" | "promo";
  amountCents: number;
  expiresAt: string | null;
};

export type EntryPage = { entries: Entry[]; nextCursor: string | null };

export type ChatMetadata = {
  model?: string;
  isDemo?: boolean;
  heldCents?: number;
  chargedCents?: number;
  balanceCents?: number;
  availableCents?: number;
  replayed?: boolean;
  interrupted?: boolean;
  /** Set by the page, never the server: an answer it learned of only after Stop, before any chunk came. */
  stoppedBeforeStart?: boolean;
};

export type ModelInfo = { model: string; isDemo: boolean; maxCentsPerAnswer: number };

export type ConversationSummary = {
  id: string;
  title: string;
  model: string;
  updatedAt: string;
  /** What every answer in it charged. */
  totalCostCents: number;
};
