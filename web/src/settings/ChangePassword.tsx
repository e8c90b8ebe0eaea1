import { type FormEvent, useState } from "react";
import { minimumPasswordLength } from "../auth/SignInPage.js";
import { api } from "../shared/api.js";
import { Field } from "../shared/Field.js";
import { Notice } from "../shared/Notice.js";

/** Change the password while signed in: the current one first; other devices are signed out. */
export function ChangePassword() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [errors, setErrors] = useState<{ current?: string; next?: string }>({});
  const [outcome, setOutcome] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setOutcome(null);
    const found: typeof errors = {};
    if (!current) found.current = "Enter your current password.";
    if (next.length < minimumPasswordLength) found.next = `Use at least ${minimumPasswordLength} characters.`;
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    const result = await api("/api/auth/change-password", {
      body: { currentPassword: current, newPassword: next, revokeOtherSessions: true },
    });
    setBusy(false);
    if (result.error) {
      setOutcome({ tone: "error", text: result.error.message });
      return;
    }
    setCurrent("");
    setNext("");
    setOutcome({ tone: "success", text: "Password changed. Your other devices were signed out." });
  }

  return (
    <section className="card" aria-labelledby="change-password-title">
      <h2 id="change-password-title">Change password</h2>
      {outcome ? <Notice tone={outcome.tone}>{outcome.text}</Notice> : null}
      <form onSubmit={submit} noValidate>
        <Field
          label="Current password"
          name="current-password"
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={(event) => setCurrent(event.target.value)}
          error={errors.current}
        />
        <Field
          label="New password"
          name="new-password"
          type="password"
          autoComplete="new-password"
          value={next}
          onChange={(event) => setNext(event.target.value)}
          error={errors.next}
          hint={`At least ${minimumPasswordLength} characters.`}
        />
        <button type="submit" className="button-primary" disabled={busy}>
          {busy ? "Please wait…" : "Change password"}
        </button>
      </form>
    </section>
  );
}
