import { type FormEvent, useState } from "react";
import { api } from "../shared/api.js";
import { Field } from "../shared/Field.js";
import { formatCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";
import type { PublicConfig } from "../shared/types.js";
import { GoogleButton } from "./GoogleButton.js";

type Mode = "sign-in" | "sign-up";
type Errors = Partial<Record<"name" | "email" | "password", string>>;

// Better Auth's default; the server says so too, but saying it before the request is kinder.
const minimumPasswordLength = 8;

function validate(mode: Mode, values: { name: string; email: string; password: string }): Errors {
  const errors: Errors = {};
  if (mode === "sign-up" && !values.name.trim()) errors.name = "Enter your name.";
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(values.email.trim())) {
    errors.email = "Enter an email address like you@example.com.";
  }
  if (!values.password) errors.password = "Enter your password.";
  else if (mode === "sign-up" && values.password.length < minimumPasswordLength) {
    errors.password = `Use at least ${minimumPasswordLength} characters.`;
  }
  return errors;
}

/** The only screen a signed-out person sees: sign in, or create an account. */
export function SignInPage({ config, onSignedIn }: { config: PublicConfig; onSignedIn: () => void }) {
  const [mode, setMode] = useState<Mode>("sign-in");
  const [values, setValues] = useState({ name: "", email: "", password: "" });
  const [errors, setErrors] = useState<Errors>({});
  const [serverError, setServerError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const signingUp = mode === "sign-up";

  const change = (name: keyof typeof values) => (event: { target: { value: string } }) => {
    setValues((current) => ({ ...current, [name]: event.target.value }));
    setErrors((current) => ({ ...current, [name]: undefined }));
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    setServerError(null);
    const found = validate(mode, values);
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    const body = signingUp
      ? { name: values.name.trim(), email: values.email.trim(), password: values.password }
      : { email: values.email.trim(), password: values.password };
    const result = await api(`/api/auth/${mode}/email`, { body });
    setBusy(false);
    if (result.error) {
      setServerError(result.error.message);
      return;
    }
    onSignedIn();
  }

  function switchMode() {
    setMode(signingUp ? "sign-in" : "sign-up");
    setErrors({});
    setServerError(null);
  }

  return (
    <main className="auth-page">
      <div className="auth-brand">
        <span className="logo" aria-hidden="true" />
        <span className="brand-name">Coinslot</span>
      </div>
      <section className="card auth-card" aria-labelledby="auth-title">
        <h1 id="auth-title">{signingUp ? "Create your account" : "Sign in to Coinslot"}</h1>
        <p className="muted">
          {signingUp
            ? `New accounts start with ${formatCents(config.newUserCreditsCents, config.currency)} of free credit.`
            : "Pay only for what you use: buy credits, spend them on AI answers."}
        </p>
        {serverError ? <Notice tone="error">{serverError}</Notice> : null}
        <form onSubmit={submit} noValidate>
          {signingUp ? (
            <Field
              label="Name"
              name="name"
              autoComplete="name"
              value={values.name}
              onChange={change("name")}
              error={errors.name}
            />
          ) : null}
          <Field
            label="Email"
            name="email"
            type="email"
            autoComplete="email"
            value={values.email}
            onChange={change("email")}
            error={errors.email}
          />
          <Field
            label="Password"
            name="password"
            type="password"
            autoComplete={signingUp ? "new-password" : "current-password"}
            value={values.password}
            onChange={change("password")}
            error={errors.password}
            hint={signingUp ? `At least ${minimumPasswordLength} characters.` : undefined}
          />
          <button type="submit" className="button-primary button-wide" disabled={busy}>
            {busy ? "Please wait…" : signingUp ? "Create account" : "Sign in"}
          </button>
        </form>
        {config.googleEnabled ? <GoogleButton onError={setServerError} /> : null}
        <p className="auth-switch">
          {signingUp ? "Already have an account?" : "New to Coinslot?"}{" "}
          <button type="button" className="button-link" onClick={switchMode}>
            {signingUp ? "Sign in" : "Create an account"}
          </button>
        </p>
      </section>
    </main>
  );
}
