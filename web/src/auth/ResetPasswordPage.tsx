import { type FormEvent, useState } from "react";
import { api } from "../shared/api.js";
import { Field } from "../shared/Field.js";
import { Notice } from "../shared/Notice.js";
import { AuthFrame, minimumPasswordLength } from "./SignInPage.js";

/**
 * Where the emailed reset link lands (`/reset-password?token=...`, or `?error=INVALID_TOKEN` when
 * the link was already used or has expired): choose a new password, then sign in with it.
 */
export function ResetPasswordPage({ onDone }: { onDone: (next: "sign-in" | "forgot") => void }) {
  const query = new URLSearchParams(window.location.search);
  const token = query.get("token");
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [errors, setErrors] = useState<{ password?: string; repeat?: string }>({});
  const [serverError, setServerError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const found: typeof errors = {};
    if (password.length < minimumPasswordLength)
      found.password = `Use at least ${minimumPasswordLength} characters.`;
    if (repeat !== password) found.repeat = "Type the same password twice.";
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    const result = await api("/api/auth/reset-password", { body: { token, newPassword: password } });
    setBusy(false);
    if (result.error) setServerError(result.error.message);
    else setDone(true);
  }

  if (!token || query.get("error")) {
    return (
      <AuthFrame title="This link no longer works">
        <Notice tone="warning">
          A reset link works once, within an hour of being sent. Ask for a new one and use the newest mail.
        </Notice>
        <button type="button" className="button-primary button-wide" onClick={() => onDone("forgot")}>
          Send a new link
        </button>
      </AuthFrame>
    );
  }
  if (done) {
    return (
      <AuthFrame title="Password changed">
        <Notice tone="success">Your new password is set, and every device was signed out.</Notice>
        <button type="button" className="button-primary button-wide" onClick={() => onDone("sign-in")}>
          Sign in
        </button>
      </AuthFrame>
    );
  }
  return (
    <AuthFrame title="Choose a new password">
      {serverError ? (
        <Notice tone="error">
          {serverError}{" "}
          <button type="button" className="button-link" onClick={() => onDone("forgot")}>
            Send a new link
          </button>
        </Notice>
      ) : null}
      <form onSubmit={submit} noValidate>
        <Field
          label="New password"
          name="new-password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          error={errors.password}
          hint={`At least ${minimumPasswordLength} characters.`}
        />
        <Field
          label="Repeat the new password"
          name="repeat-password"
          type="password"
          autoComplete="new-password"
          value={repeat}
          onChange={(event) => setRepeat(event.target.value)}
          error={errors.repeat}
        />
        <button type="submit" className="button-primary button-wide" disabled={busy}>
          {busy ? "Please wait…" : "Set new password"}
        </button>
      </form>
    </AuthFrame>
  );
}
