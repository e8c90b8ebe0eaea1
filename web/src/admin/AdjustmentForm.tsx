import { type FormEvent, useState } from "react";
import { api } from "../shared/api.js";
import { Field } from "../shared/Field.js";
import { formatCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";

function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

type Errors = Partial<Record<"amount" | "reason", string>>;

/**
 * Adds or removes credits with a required reason. The idempotency key is made when the form is
 * filled in and kept until it succeeds, so a double click or a retry after a timeout changes once.
 */
export function AdjustmentForm({
  userId,
  currency,
  onDone,
}: {
  userId: string;
  currency: string;
  onDone: (message: string) => void;
}) {
  const [direction, setDirection] = useState<"add" | "remove">("add");
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [serverError, setServerError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [key, setKey] = useState(newKey);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setServerError(null);
    const found: Errors = {};
    const valid = /^\s*\d+(\.\d{1,2})?\s*$/.test(amount) && Number(amount) > 0;
    if (!valid) found.amount = "Enter an amount in dollars, such as 5.00.";
    if (reason.trim().length < 3) found.reason = "Say why, in at least 3 characters. The user may ask.";
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    const cents = Math.round(Number(amount) * 100) * (direction === "add" ? 1 : -1);
    setBusy(true);
    const result = await api(`/api/admin/accounts/${encodeURIComponent(userId)}/adjustments`, {
      body: { amountCents: cents, reason: reason.trim(), idempotencyKey: key },
    });
    setBusy(false);
    if (result.error) {
      setServerError(result.error.message);
      return;
    }
    setAmount("");
    setReason("");
    setKey(newKey());
    onDone(`${direction === "add" ? "Added" : "Removed"} ${formatCents(Math.abs(cents), currency)}.`);
  }

  return (
    <form className="adjustment" onSubmit={submit} noValidate aria-labelledby="adjust-title">
      <h3 id="adjust-title" className="section-title">
        Adjust credits
      </h3>
      <fieldset className="segmented">
        <legend className="visually-hidden">Direction</legend>
        <label>
          <input
            type="radio"
            name="direction"
            checked={direction === "add"}
            onChange={() => setDirection("add")}
          />
          Add credits
        </label>
        <label>
          <input
            type="radio"
            name="direction"
            checked={direction === "remove"}
            onChange={() => setDirection("remove")}
          />
          Remove credits
        </label>
      </fieldset>
      <Field
        label={`Amount (${currency.toUpperCase()})`}
        name="adjust-amount"
        inputMode="decimal"
        value={amount}
        onChange={(event) => setAmount(event.target.value)}
        error={errors.amount}
      />
      <Field
        label="Reason"
        name="reason"
        value={reason}
        maxLength={400}
        onChange={(event) => setReason(event.target.value)}
        error={errors.reason}
        hint="Shown in the user's history."
      />
      {serverError ? <Notice tone="error">{serverError}</Notice> : null}
      <button type="submit" className="button-primary" disabled={busy}>
        {busy ? "Saving…" : direction === "add" ? "Add credits" : "Remove credits"}
      </button>
    </form>
  );
}
