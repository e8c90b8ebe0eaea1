import { formatCents as formatCentsAs } from "../../../src/kit/money.js";
import type { EntryKind } from "./types.js";

/** `350` → `$3.50`, `-2` → `−$0.02`: the server's formatter, with the minus sign a page should show. */
export function formatCents(amountCents: number, currency: string): string {
  return formatCentsAs(amountCents, currency, { minus: "typographic" });
}

/** `"3.5"` or `" 3.50 "` → `350`; null for anything but a plain amount with at most two decimals. */
export function parseCents(text: string): number | null {
  if (!/^\s*\d+(\.\d{1,2})?\s*$/.test(text)) return null;
  return Math.round(Number(text) * 100);
}

/** `+$3.00` for credits in, `−$0.02` for credits out: the ledger's way of showing a change. */
export function formatChange(amountCents: number, currency: string): string {
  return amountCents > 0 ? `+${formatCents(amountCents, currency)}` : formatCents(amountCents, currency);
}

const kindWords: Record<EntryKind, string> = {
  signup_bonus: "Welcome credit",
  purchase: "Credit purchase",
  usage: "AI usage",
  refund: "Refund",
  dispute: "Payment disputed",
  dispute_reversal: "Dispute won",
  adjustment: "Adjustment",
  promo_code: "Promo code",
  expiry: "Credits expired",
};

/**
 * A ledger kind in words a person reads. The fallback is for a tab opened before a deploy that added
 * a kind: the server's type is the promise, but this page may be older than the server.
 */
export function kindInWords(kind: EntryKind): string {
  return kindWords[kind] ?? kind.replace(/_/g, " ");
}

/** "Nov 24, 4:54 PM"; the year only when it is not this one. */
export function formatDate(iso: string): string {
  const date = new Date(iso);
  const thisYear = date.getFullYear() === new Date().getFullYear();
  return date.toLocaleString(undefined, {
    month: "short",
    day: "numeric",
    ...(thisYear ? {} : { year: "numeric" }),
    hour: "numeric",
    minute: "2-digit",
  });
}
