import { Field } from "../shared/Field.js";
import { formatCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";
import { useCentsSetting } from "./use-cents-setting.js";

type Setting = { thresholdCents: number; defaultCents: number; custom: boolean };

/** The low-balance alert: the threshold below which the person gets one email and a banner. */
export function AlertsSettings({ currency }: { currency: string }) {
  const { setting, amount, setAmount, amountError, outcome, busy, save, submit } = useCentsSetting<Setting>({
    path: "/api/alerts/low-balance",
    field: "thresholdCents",
    centsOf: (next) => next.thresholdCents,
    savedText: ({ thresholdCents }) =>
      thresholdCents === 0
        ? "Low-balance alerts are off."
        : `You will be alerted below ${formatCents(thresholdCents, currency)}.`,
    invalidText: "Enter an amount such as 1.00, or 0 to turn the alert off.",
  });

  return (
    <section className="card" aria-labelledby="alerts-title">
      <h2 id="alerts-title">Low-balance alert</h2>
      <p className="muted small">
        When your available credit falls below this amount you get one email and a banner, and again only
        after new credit brings it back above.
        {setting ? ` The default is ${formatCents(setting.defaultCents, currency)}.` : ""}
      </p>
      <form onSubmit={submit} noValidate>
        <Field
          label={`Alert me below (${currency.toUpperCase()})`}
          name="low-balance-threshold"
          inputMode="decimal"
          value={amount}
          onChange={(event) => setAmount(event.target.value)}
          error={amountError}
          hint="0 turns the alert off."
        />
        <div className="button-row">
          <button type="submit" className="button-primary" disabled={busy || setting === null}>
            Save alert
          </button>
          {setting?.custom ? (
            <button type="button" className="button-quiet" disabled={busy} onClick={() => void save(null)}>
              Use the default
            </button>
          ) : null}
        </div>
      </form>
      {outcome ? <Notice tone={outcome.tone}>{outcome.text}</Notice> : null}
    </section>
  );
}
