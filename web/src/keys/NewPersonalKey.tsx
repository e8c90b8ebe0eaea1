import { type FormEvent, useState } from "react";
import { api } from "../shared/api.js";
import { Field } from "../shared/Field.js";
import { formatCents, parseCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";
import { SecretOnce } from "../shared/SecretOnce.js";
import { type CreatedKey, maxMonthlyLimitCents, maxNameLength, type PersonalKey } from "./types.js";

type Problems = { name?: string; limit?: string };

/** The limit typed in units (`"10.00"`) as cents, null for none, or the problem with it. */
function readLimit(text: string, currency: string): { cents: number | null } | { problem: string } {
  if (text.trim() === "") return { cents: null };
  const cents = parseCents(text);
  if (cents === null || cents < 1 || cents > maxMonthlyLimitCents) {
    return {
      problem: `Enter an amount such as 10.00, from ${formatCents(1, currency)} to ${formatCents(maxMonthlyLimitCents, currency)}, or leave it empty for no limit.`,
    };
  }
  return { cents };
}

/**
 * Makes a key with a name and an optional monthly limit, then shows its secret once: the server keeps
 * only a hash, so this answer is the only place it exists. Dismissing the box, or leaving the page,
 * forgets it for good.
 */
export function NewPersonalKey({
  currency,
  onCreated,
}: {
  currency: string;
  onCreated: (key: PersonalKey) => void;
}) {
  const [name, setName] = useState("");
  const [limit, setLimit] = useState("");
  const [problems, setProblems] = useState<Problems>({});
  const [serverError, setServerError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<CreatedKey | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setServerError(null);
    const trimmed = name.trim();
    const monthlyLimit = readLimit(limit, currency);
    const found: Problems = {
      ...(trimmed.length < 1 || trimmed.length > maxNameLength
        ? { name: `Name the script or app that will use it, in 1 to ${maxNameLength} characters.` }
        : {}),
      ...("problem" in monthlyLimit ? { limit: monthlyLimit.problem } : {}),
    };
    setProblems(found);
    if (found.name || "problem" in monthlyLimit) return;
    setBusy(true);
    const result = await api<CreatedKey>("/api/keys", {
      body: { name: trimmed, monthlyLimitCents: monthlyLimit.cents },
    });
    setBusy(false);
    if (result.error) {
      setServerError(result.error.message);
      return;
    }
    setCreated(result.data);
    setName("");
    setLimit("");
    onCreated(result.data.key);
  }

  return (
    <div className="new-personal-key">
      {created ? (
        <SecretOnce name={created.key.name} secret={created.secret} onDone={() => setCreated(null)} />
      ) : null}
      <form className="new-personal-key-form" onSubmit={submit} noValidate>
        <Field
          label="Name"
          value={name}
          maxLength={maxNameLength}
          placeholder="laptop script"
          onChange={(event) => setName(event.target.value)}
          error={problems.name}
        />
        <Field
          label={`Monthly limit (${currency.toUpperCase()})`}
          hint="Optional. Leave empty for no limit."
          value={limit}
          inputMode="decimal"
          placeholder="10.00"
          onChange={(event) => setLimit(event.target.value)}
          onBlur={() => {
            const cents = parseCents(limit);
            if (cents !== null) setLimit((cents / 100).toFixed(2));
          }}
          error={problems.limit}
        />
        <button type="submit" className="button-primary" disabled={busy}>
          {busy ? "Creating…" : "Create key"}
        </button>
      </form>
      {serverError ? <Notice tone="error">{serverError}</Notice> : null}
    </div>
  );
}
