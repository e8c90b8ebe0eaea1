import { type FormEvent, useState } from "react";
import { api } from "../shared/api.js";
import { Field } from "../shared/Field.js";
import { Notice } from "../shared/Notice.js";

/**
 * Deletes the account after two confirmations: the person opens the form, then types their password
 * (a Google account without one confirms by a recent sign-in). Credits left are lost, and it says so.
 */
export function DeleteAccount({ onDeleted }: { onDeleted: () => void }) {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setBusy(true);
    const result = await api("/api/auth/delete-user", { body: password ? { password } : {} });
    setBusy(false);
    if (result.error) setError(result.error.message);
    else onDeleted();
  }

  return (
    <section className="card danger-zone" aria-labelledby="delete-account-title">
      <h2 id="delete-account-title">Delete my account</h2>
      <p className="muted">
        Your sign-in, conversations and email address are removed, and any credit left is lost. The record of
        past payments and charges is kept for accounting, without your email.
      </p>
      {open ? (
        <form onSubmit={submit} noValidate>
          {error ? <Notice tone="error">{error}</Notice> : null}
          <Field
            label="Your password, to confirm"
            name="delete-password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            hint="An account that signs in with Google leaves this empty."
          />
          <div className="button-row">
            <button type="submit" className="button-danger" disabled={busy}>
              {busy ? "Deleting…" : "Delete my account for good"}
            </button>
            <button type="button" className="button-secondary" onClick={() => setOpen(false)}>
              Keep my account
            </button>
          </div>
        </form>
      ) : (
        <button type="button" className="button-danger" onClick={() => setOpen(true)}>
          Delete my account…
        </button>
      )}
    </section>
  );
}
