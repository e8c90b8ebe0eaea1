import { type FormEvent, useEffect, useState } from "react";
import { api } from "../shared/api.js";
import { Field } from "../shared/Field.js";
import { formatCents, parseCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";

type Limit = { monthlyLimitCents: number | null; monthUsageCents: number };

/** A monthly cap on usage: this month's usage against it, and setting or removing it. */
export function SpendLimit({ currency }: { currency: string }) {
  const [limit, setLimit] = useState<Limit | null>(null);
  const [amount, setAmount] = useState("");
  const [amountError, setAmountError] = useState<string | undefined>();
  const [outcome, setOutcome] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const money = (cents: number) => formatCents(cents, currency);

  function show(next: Limit) {
    setLimit(next);
    setAmount(next.monthlyLimitCents === null ? "" : (next.monthlyLimitCents / 100).toFixed(2));
  }

  // biome-ignore lint/correctness/useExhaustiveDependencies: the setting, once, on opening.
  useEffect(() => {
    void api<Limit>("/api/spend-limit").then((result) => {
      if (result.data) show(result.data);
      else setOutcome({ tone: "error", text: result.error.message });
    });
  }, []);

  async function save(monthlyLimitCents: number | null) {
    setBusy(true);
    const result = await api<Limit>("/api/spend-limit", { method: "PUT", body: { monthlyLimitCents } });
    setBusy(false);
    if (result.error) {
      setOutcome({ tone: "error", text: result.error.message });
      return;
    }
    show(result.data);
    const saved = result.data.monthlyLimitCents;
    setOutcome({
      tone: "success",
      text: saved === null ? "No monthly limit." : `Usage stops at ${money(saved)} a month.`,
    });
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    setOutcome(null);
    const cents = parseCents(amount);
    if (cents === null) {
      setAmountError("Enter an amount such as 20.00.");
      return;
    }
    setAmountError(undefined);
    void save(cents);
  }

  const capped = limit?.monthlyLimitCents ?? null;
  return (
    <section className="card" aria-labelledby="spend-limit-title">
      <h2 id="spend-limit-title">Monthly spend limit</h2>
      {limit ? (
        <>
          <p data-testid="month-usage">
            Used this month: <strong>{money(limit.monthUsageCents)}</strong>
            {capped === null ? " (no limit)" : ` of ${money(capped)}`}
          </p>
          {capped !== null ? (
            <meter
              style={{ width: "100%" }}
              min={0}
              max={Math.max(capped, 1)}
              value={Math.min(limit.monthUsageCents, capped)}
              aria-label="This month's usage against the limit"
            />
          ) : null}
        </>
      ) : (
        <p className="muted small">Loading…</p>
      )}
      <p className="muted small">
        Once a month's usage (UTC) reaches the limit, chats and API calls are refused until the next month or
        until you raise it. Your credit stays yours.
      </p>
      <form onSubmit={submit} noValidate>
        <Field
          label={`Limit per month (${currency.toUpperCase()})`}
          name="monthly-limit"
          inputMode="decimal"
          placeholder="No limit"
          value={amount}
          onChange={(event) => setAmount(event.target.value)}
          error={amountError}
        />
        <div className="button-row">
          <button type="submit" className="button-primary" disabled={busy || limit === null}>
            Save limit
          </button>
          {capped !== null ? (
            <button type="button" className="button-quiet" disabled={busy} onClick={() => void save(null)}>
              Remove limit
            </button>
          ) : null}
        </div>
      </form>
      {outcome ? <Notice tone={outcome.tone}>{outcome.text}</Notice> : null}
    </section>
  );
}
