import { type FormEvent, useEffect, useState } from "react";
import { api } from "../shared/api.js";
import { Field } from "../shared/Field.js";
import { formatCents, parseCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";

type Setting = { thresholdCents: number; defaultCents: number; custom: boolean };

/** The low-balance alert: the threshold below which the person gets one email and a banner. */
export function AlertsSettings({ currency }: { currency: string }) {
  const [setting, setSetting] = useState<Setting | null>(null);
  const [amount, setAmount] = useState("");
  const [amountError, setAmountError] = useState<string | undefined>();
  const [outcome, setOutcome] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  function show(next: Setting) {
    setSetting(next);
    setAmount((next.thresholdCents / 100).toFixed(2));
  }

  // biome-ignore lint/correctness/useExhaustiveDependencies: the setting, once, on opening.
  useEffect(() => {
    void api<Setting>("/api/alerts/low-balance").then((result) => {
      if (result.data) show(result.data);
      else setOutcome({ tone: "error", text: result.error.message });
    });
  }, []);

  async function save(thresholdCents: number | null) {
    setBusy(true);
    const result = await api<Setting>("/api/alerts/low-balance", { method: "PUT", body: { thresholdCents } });
    setBusy(false);
    if (result.error) {
      setOutcome({ tone: "error", text: result.error.message });
      return;
    }
    show(result.data);
    const { thresholdCents: saved } = result.data;
    setOutcome({
      tone: "success",
      text:
        saved === 0
          ? "Low-balance alerts are off."
          : `You will be alerted below ${formatCents(saved, currency)}.`,
    });
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    setOutcome(null);
    const cents = parseCents(amount);
    if (cents === null) {
      setAmountError("Enter an amount such as 1.00, or 0 to turn the alert off.");
      return;
    }
    setAmountError(undefined);
    void save(cents);
  }

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
