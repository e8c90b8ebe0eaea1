import { Field } from "../shared/Field.js";
import { formatCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";
import { useCentsSetting } from "./use-cents-setting.js";

type Limit = { monthlyLimitCents: number | null; monthUsageCents: number };

/** A monthly cap on usage: this month's usage against it, and setting or removing it. */
export function SpendLimit({ currency }: { currency: string }) {
  const money = (cents: number) => formatCents(cents, currency);
  const {
    setting: limit,
    amount,
    setAmount,
    amountError,
    outcome,
    busy,
    save,
    submit,
  } = useCentsSetting<Limit>({
    path: "/api/spend-limit",
    field: "monthlyLimitCents",
    centsOf: (next) => next.monthlyLimitCents,
    savedText: ({ monthlyLimitCents }) =>
      monthlyLimitCents === null
        ? "No monthly limit."
        : `Usage stops at ${money(monthlyLimitCents)} a month.`,
    invalidText: "Enter an amount such as 20.00.",
  });

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
