import { type FormEvent, useEffect, useState } from "react";
import { api } from "../shared/api.js";
import { parseCents } from "../shared/money.js";

type Outcome = { tone: "success" | "error"; text: string };

/**
 * One amount of money a person sets in their settings (a threshold, a limit): read from `path` on
 * opening, shown in a text field as dollars, saved back with PUT `{ [field]: cents | null }`.
 * `centsOf` picks the amount out of the server's answer (null: none set); `savedText` says what a
 * saved answer means; `invalidText` what to type instead of something that is not an amount.
 */
export function useCentsSetting<Setting>(options: {
  path: string;
  field: string;
  centsOf: (setting: Setting) => number | null;
  savedText: (setting: Setting) => string;
  invalidText: string;
}) {
  const [setting, setSetting] = useState<Setting | null>(null);
  const [amount, setAmount] = useState("");
  const [amountError, setAmountError] = useState<string | undefined>();
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);

  function show(next: Setting) {
    setSetting(next);
    const cents = options.centsOf(next);
    setAmount(cents === null ? "" : (cents / 100).toFixed(2));
  }

  // biome-ignore lint/correctness/useExhaustiveDependencies: the setting, once, on opening.
  useEffect(() => {
    void api<Setting>(options.path).then((result) => {
      if (result.error === null) show(result.data);
      else setOutcome({ tone: "error", text: result.error.message });
    });
  }, []);

  async function save(cents: number | null) {
    setBusy(true);
    const result = await api<Setting>(options.path, { method: "PUT", body: { [options.field]: cents } });
    setBusy(false);
    if (result.error) {
      setOutcome({ tone: "error", text: result.error.message });
      return;
    }
    show(result.data);
    setOutcome({ tone: "success", text: options.savedText(result.data) });
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    setOutcome(null);
    const cents = parseCents(amount);
    if (cents === null) {
      setAmountError(options.invalidText);
      return;
    }
    setAmountError(undefined);
    void save(cents);
  }

  return { setting, amount, setAmount, amountError, outcome, busy, save, submit };
}
