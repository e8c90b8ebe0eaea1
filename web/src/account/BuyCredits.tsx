import { type FormEvent, useState } from "react";
import { api } from "../shared/api.js";
import { formatCents, parseCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";
import type { PublicConfig } from "../shared/types.js";

export const buyAmountInputId = "buy-amount";

/** Brings the buy form into view and puts the cursor in it, from anywhere (e.g. out of credit). */
export function focusBuyCredits(): void {
  const input = document.getElementById(buyAmountInputId);
  input?.scrollIntoView({ behavior: "smooth", block: "center" });
  input?.focus();
}

function problemWith(cents: number | null, topup: PublicConfig["topup"], currency: string): string | null {
  const money = (value: number) => formatCents(value, currency);
  const range = `Choose from ${money(topup.minCents)} to ${money(topup.maxCents)} in steps of ${money(topup.stepCents)}.`;
  if (cents === null) return `Enter an amount such as ${(topup.defaultCents / 100).toFixed(2)}. ${range}`;
  if (cents < topup.minCents || cents > topup.maxCents || (cents - topup.minCents) % topup.stepCents !== 0) {
    return range;
  }
  return null;
}

/** The amount input and "Buy now": opens checkout (Stripe, or the offline simulator). */
export function BuyCredits({ config }: { config: PublicConfig }) {
  const { topup, currency } = config;
  const [amount, setAmount] = useState((topup.defaultCents / 100).toFixed(2));
  const [error, setError] = useState<string | null>(null);
  const [serverError, setServerError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  function step(direction: 1 | -1) {
    const cents = parseCents(amount) ?? topup.defaultCents;
    const stepped = cents + direction * topup.stepCents;
    const clamped = Math.min(topup.maxCents, Math.max(topup.minCents, stepped));
    setAmount((clamped / 100).toFixed(2));
    setError(null);
  }

  async function buy(event: FormEvent) {
    event.preventDefault();
    setServerError(null);
    const cents = parseCents(amount);
    const problem = problemWith(cents, topup, currency);
    setError(problem);
    if (problem || cents === null) return;
    setBusy(true);
    const result = await api<{ url: string }>("/api/checkout", { body: { amountCents: cents } });
    if (result.error) {
      setBusy(false);
      setServerError(result.error.message);
      return;
    }
    window.location.assign(result.data.url);
  }

  return (
    <section className="card buy-card" aria-labelledby="buy-title">
      <h2 id="buy-title" className="card-title">
        Buy credits
      </h2>
      <form onSubmit={buy} noValidate>
        <label htmlFor={buyAmountInputId}>Amount ({currency.toUpperCase()})</label>
        <div className="amount-row">
          <button
            type="button"
            className="button-secondary stepper"
            onClick={() => step(-1)}
            aria-label={`${formatCents(topup.stepCents, currency)} less`}
          >
            −
          </button>
          <input
            id={buyAmountInputId}
            name="amount"
            inputMode="decimal"
            value={amount}
            aria-invalid={error ? true : undefined}
            aria-describedby="buy-amount-hint buy-amount-error"
            onChange={(event) => {
              setAmount(event.target.value);
              setError(null);
            }}
            onBlur={() => {
              const cents = parseCents(amount);
              if (cents !== null) setAmount((cents / 100).toFixed(2));
            }}
          />
          <button
            type="button"
            className="button-secondary stepper"
            onClick={() => step(1)}
            aria-label={`${formatCents(topup.stepCents, currency)} more`}
          >
            +
          </button>
        </div>
        <p className="field-hint" id="buy-amount-hint">
          {formatCents(topup.minCents, currency)} to {formatCents(topup.maxCents, currency)}, in steps of{" "}
          {formatCents(topup.stepCents, currency)}
        </p>
        {error ? (
          <p className="field-error" id="buy-amount-error">
            {error}
          </p>
        ) : null}
        {serverError ? <Notice tone="error">{serverError}</Notice> : null}
        <button type="submit" className="button-primary button-wide" disabled={busy}>
          {busy ? "Opening checkout…" : "Buy now"}
        </button>
        <p className="muted small secure-note">
          <svg aria-hidden="true" width="12" height="12" viewBox="0 0 24 24" className="lock">
            <path
              fill="currentColor"
              d="M12 2a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1V7a5 5 0 0 0-5-5zm-3 8V7a3 3 0 0 1 6 0v3H9z"
            />
          </svg>{" "}
          Payment happens on the secure checkout page; we never see your card.
        </p>
      </form>
    </section>
  );
}
