import { type FormEvent, useState } from "react";
import { api } from "../shared/api.js";
import { Field } from "../shared/Field.js";
import { formatCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";
import type { PublicConfig } from "../shared/types.js";
import { CheckEmail } from "./CheckEmail.js";
import { GoogleButton } from "./GoogleButton.js";

export type Mode = "sign-in" | "sign-up" | "forgot";
type Errors = Partial<Record<"name" | "email" | "password", string>>;

// Better Auth's default; the server says so too, but saying it before the request is kinder.
export const minimumPasswordLength = 8;
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function validate(mode: Mode, values: { name: string; email: string; password: string }): Errors {
  const errors: Errors = {};
  if (mode === "sign-up" && !values.name.trim()) errors.name = "Enter your name.";
  if (!emailPattern.test(values.email.trim())) {
    errors.email = "Enter an email address like you@example.com.";
  }
  if (mode === "forgot") return errors;
  if (!values.password) errors.password = "Enter your password.";
  else if (mode === "sign-up" && values.password.length < minimumPasswordLength) {
    errors.password = `Use at least ${minimumPasswordLength} characters.`;
  }
  return errors;
}

const titles: Record<Mode, string> = {
  "sign-in": "Sign in to Coinslot",
  "sign-up": "Create your account",
  forgot: "Reset your password",
};

/** What was sent, once a form that mails a link has been submitted. */
type Sent = { kind: "verify" | "reset"; email: string };

/**
 * The screen a signed-out person sees: sign in, create an account, or ask for a password reset link.
 * When sign-up waits for the emailed link, it says so instead of signing in.
 */
export function SignInPage({
  config,
  initialMode = "sign-in",
  onSignedIn,
}: {
  config: PublicConfig;
  initialMode?: Mode;
  onSignedIn: () => void;
}) {
  const [mode, setMode] = useState<Mode>(initialMode);
  const [values, setValues] = useState({ name: "", email: "", password: "" });
  const [errors, setErrors] = useState<Errors>({});
  const [serverError, setServerError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<Sent | null>(null);
  const signingUp = mode === "sign-up";

  const change = (name: keyof typeof values) => (event: { target: { value: string } }) => {
    setValues((current) => ({ ...current, [name]: event.target.value }));
    setErrors((current) => ({ ...current, [name]: undefined }));
  };

  function switchTo(next: Mode) {
    setMode(next);
    setErrors({});
    setServerError(null);
    setSent(null);
    const path = next === "forgot" ? "/forgot-password" : "/";
    if (window.location.pathname !== path) window.history.replaceState(null, "", path);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setServerError(null);
    const found = validate(mode, values);
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    const email = values.email.trim();
    const result =
      mode === "forgot"
        ? await api("/api/auth/request-password-reset", { body: { email, redirectTo: "/reset-password" } })
        : mode === "sign-up"
          ? await api<{ token: string | null }>("/api/auth/sign-up/email", {
              body: { name: values.name.trim(), email, password: values.password, callbackURL: "/" },
            })
          : await api("/api/auth/sign-in/email", { body: { email, password: values.password } });
    setBusy(false);
    if (result.error) {
      setServerError(result.error.message);
      return;
    }
    if (mode === "forgot") setSent({ kind: "reset", email });
    // Without a session token the account waits for its emailed link (and an address that was
    // already registered gets the same answer, so nobody learns who has an account).
    else if (mode === "sign-up" && !(result.data as { token: string | null }).token) {
      setSent({ kind: "verify", email });
    } else onSignedIn();
  }

  if (sent) {
    return (
      <AuthFrame title="Check your email">
        <CheckEmail
          kind={sent.kind}
          email={sent.email}
          localMailbox={config.localMailbox}
          onBack={() => switchTo("sign-in")}
        />
      </AuthFrame>
    );
  }

  const intro =
    mode === "sign-up"
      ? `New accounts start with ${formatCents(config.newUserCreditsCents, config.currency)} of free credit${
          config.requireEmailVerification ? " once you confirm your email address" : ""
        }.`
      : mode === "forgot"
        ? "Enter your account's email address and we will send you a link to choose a new password."
        : "Pay only for what you use: buy credits, spend them on AI answers.";

  return (
    <AuthFrame title={titles[mode]}>
      <p className="muted">{intro}</p>
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
        {mode === "forgot" ? null : (
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
        )}
        <button type="submit" className="button-primary button-wide" disabled={busy}>
          {busy
            ? "Please wait…"
            : mode === "sign-up"
              ? "Create account"
              : mode === "forgot"
                ? "Send reset link"
                : "Sign in"}
        </button>
      </form>
      {mode === "sign-in" ? (
        <p className="auth-switch">
          <button type="button" className="button-link" onClick={() => switchTo("forgot")}>
            Forgot password?
          </button>
        </p>
      ) : null}
      {config.googleEnabled && mode !== "forgot" ? <GoogleButton onError={setServerError} /> : null}
      <p className="auth-switch">
        {signingUp ? "Already have an account?" : "New to Coinslot?"}{" "}
        <button
          type="button"
          className="button-link"
          onClick={() => switchTo(signingUp ? "sign-in" : "sign-up")}
        >
          {signingUp ? "Sign in" : "Create an account"}
        </button>
      </p>
      {mode === "forgot" ? (
        <p className="auth-switch">
          <button type="button" className="button-link" onClick={() => switchTo("sign-in")}>
            Back to sign in
          </button>
        </p>
      ) : null}
    </AuthFrame>
  );
}

/** The brand above one card: every signed-out screen looks alike. */
export function AuthFrame({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <main className="auth-page">
      <div className="auth-brand">
        <span className="logo" aria-hidden="true" />
        <span className="brand-name">Coinslot</span>
      </div>
      <section className="card auth-card" aria-labelledby="auth-title">
        <h1 id="auth-title">{title}</h1>
        {children}
      </section>
    </main>
  );
}
