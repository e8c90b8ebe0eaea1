/** `350` → `$3.50`, `-2` → `−$0.02`; other currencies as `3.50 EUR`. Cents stay integers until here. */
export function formatCents(amountCents: number, currency = "usd"): string {
  const sign = amountCents < 0 ? "−" : "";
  const units = (Math.abs(amountCents) / 100).toFixed(2);
  return currency.toLowerCase() === "usd" ? `${sign}$${units}` : `${sign}${units} ${currency.toUpperCase()}`;
}

/** `+$3.00` for credits in, `−$0.02` for credits out: the ledger's way of showing a change. */
export function formatChange(amountCents: number, currency = "usd"): string {
  return amountCents > 0 ? `+${formatCents(amountCents, currency)}` : formatCents(amountCents, currency);
}

const kindWords: Record<string, string> = {
  signup_bonus: "Welcome credit",
  purchase: "Credit purchase",
  usage: "AI usage",
  refund: "Refund",
  dispute: "Payment disputed",
  dispute_reversal: "Dispute won",
  adjustment: "Adjustment",
};

/** A ledger kind in words a person reads. */
export function kindInWords(kind: string): string {
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
