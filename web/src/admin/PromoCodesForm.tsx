import { type FormEvent, useState } from "react";
import { api } from "../shared/api.js";
import { Field } from "../shared/Field.js";
import { parseCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";
import type { PromoCode } from "./PromoCodes.js";

type Errors = Partial<Record<"code" | "amount" | "expiresOn" | "maxRedemptions" | "creditDays", string>>;

const wholeNumber = (text: string) => (/^\s*\d+\s*$/.test(text) ? Number(text) : null);

/** The form that makes a promo code: the code, its credit, and optional expiry, maximum and credit days. */
export function NewPromoCode({
  currency,
  onCreated,
}: {
  currency: string;
  onCreated: (code: PromoCode) => void;
}) {
  const [code, setCode] = useState("");
  const [amount, setAmount] = useState("");
  const [expiresOn, setExpiresOn] = useState("");
  const [maxRedemptions, setMaxRedemptions] = useState("");
  const [creditDays, setCreditDays] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [serverError, setServerError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  function read(): { body: Record<string, unknown>; errors: Errors } {
    const found: Errors = {};
    if (!/^[A-Za-z0-9_-]{3,40}$/.test(code.trim())) found.code = "Use 3 to 40 letters, digits, - or _.";
    const amountCents = parseCents(amount);
    if (amountCents === null || amountCents < 1) found.amount = "Enter the credit it gives, such as 5.00.";
    const max = maxRedemptions.trim() ? wholeNumber(maxRedemptions) : null;
    if (maxRedemptions.trim() && (max === null || max < 1))
      found.maxRedemptions = "A whole number, at least 1.";
    const days = creditDays.trim() ? wholeNumber(creditDays) : null;
    if (creditDays.trim() && (days === null || days < 1))
      found.creditDays = "A whole number of days, at least 1.";
    // The end of the chosen day, in the admin's own time zone.
    const expiresAt = expiresOn ? new Date(`${expiresOn}T23:59:59`) : null;
    if (expiresAt && (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now())) {
      found.expiresOn = "Choose a day from today on.";
    }
    const body = {
      code: code.trim(),
      amountCents,
      expiresAt: expiresAt?.toISOString() ?? null,
      maxRedemptions: max,
      creditDays: days,
    };
    return { body, errors: found };
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setServerError(null);
    const { body, errors: found } = read();
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    const result = await api<{ code: PromoCode }>("/api/admin/promo-codes", { body });
    setBusy(false);
    if (result.error) {
      setServerError(result.error.message);
      return;
    }
    setCode("");
    setAmount("");
    setExpiresOn("");
    setMaxRedemptions("");
    setCreditDays("");
    onCreated(result.data.code);
  }

  return (
    <form onSubmit={submit} noValidate aria-label="New promo code" style={{ maxWidth: "28rem" }}>
      <Field
        label="Code"
        name="promo-code-new"
        autoCapitalize="characters"
        spellCheck={false}
        placeholder="WELCOME-5"
        value={code}
        onChange={(event) => setCode(event.target.value)}
        error={errors.code}
        hint="People type it in any letter case."
      />
      <Field
        label={`Credit (${currency.toUpperCase()})`}
        name="promo-amount"
        inputMode="decimal"
        value={amount}
        onChange={(event) => setAmount(event.target.value)}
        error={errors.amount}
      />
      <Field
        label="Code expires on (optional)"
        name="promo-expires"
        type="date"
        value={expiresOn}
        onChange={(event) => setExpiresOn(event.target.value)}
        error={errors.expiresOn}
      />
      <Field
        label="Most redemptions (optional)"
        name="promo-max"
        inputMode="numeric"
        value={maxRedemptions}
        onChange={(event) => setMaxRedemptions(event.target.value)}
        error={errors.maxRedemptions}
      />
      <Field
        label="Days the credit lasts (optional)"
        name="promo-days"
        inputMode="numeric"
        value={creditDays}
        onChange={(event) => setCreditDays(event.target.value)}
        error={errors.creditDays}
        hint="Empty: the usual promotional credit lifetime."
      />
      <button type="submit" className="button-primary" disabled={busy}>
        {busy ? "Creating…" : "Create code"}
      </button>
      {serverError ? <Notice tone="error">{serverError}</Notice> : null}
    </form>
  );
}
