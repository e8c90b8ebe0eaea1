import { formatCents, formatDate } from "../shared/money.js";

/** The balance, always in view: what is left, what an answer in progress is holding, and what expires next. */
export function BalanceCard({
  balanceCents,
  heldCents,
  nextExpiry,
  currency,
}: {
  balanceCents: number;
  heldCents: number;
  nextExpiry: { amountCents: number; expiresAt: string } | null;
  currency: string;
}) {
  return (
    <section className="card balance-card" aria-labelledby="balance-title">
      <h2 id="balance-title" className="card-label">
        Credit balance
      </h2>
      <p className="balance-amount" data-testid="balance" aria-live="polite">
        {formatCents(balanceCents, currency)}
      </p>
      <p className="muted small">Your credit balance is consumed as you use the app.</p>
      {heldCents > 0 ? (
        <p className="held" data-testid="held">
          <span className="pulse" aria-hidden="true" />
          {formatCents(heldCents, currency)} held for the answer in progress
        </p>
      ) : null}
      {nextExpiry ? (
        <p className="muted small" data-testid="next-expiry">
          {formatCents(nextExpiry.amountCents, currency)} expires {formatDate(nextExpiry.expiresAt)}
        </p>
      ) : null}
      {balanceCents < 0 ? (
        <p className="field-error small">
          Your balance is below zero after a refund or dispute. Buy credits to keep using the app.
        </p>
      ) : null}
    </section>
  );
}
