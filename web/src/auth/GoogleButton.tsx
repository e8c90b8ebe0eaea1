import { useState } from "react";
import { api } from "../shared/api.js";

/** Starts Better Auth's Google sign-in; shown only when the server has Google configured. */
export function GoogleButton({ onError }: { onError: (message: string) => void }) {
  const [busy, setBusy] = useState(false);

  async function start() {
    setBusy(true);
    const result = await api<{ url?: string }>("/api/auth/sign-in/social", {
      body: { provider: "google", callbackURL: "/" },
    });
    if (result.data?.url) {
      window.location.assign(result.data.url);
      return;
    }
    setBusy(false);
    onError(result.error?.message ?? "Google sign-in could not start. Try again, or use your email.");
  }

  return (
    <>
      <div className="divider">
        <span>or</span>
      </div>
      <button type="button" className="button-secondary button-wide" onClick={start} disabled={busy}>
        <svg aria-hidden="true" width="18" height="18" viewBox="0 0 48 48">
          <path
            fill="#EA4335"
            d="M24 9.5c3.5 0 6.6 1.2 9 3.6l6.7-6.7C35.6 2.4 30.2 0 24 0 14.6 0 6.6 5.4 2.6 13.2l7.8 6.1C12.3 13.6 17.7 9.5 24 9.5z"
          />
          <path
            fill="#4285F4"
            d="M46.5 24.5c0-1.6-.1-3.1-.4-4.5H24v9h12.7c-.6 3-2.3 5.5-4.8 7.2l7.6 5.9c4.4-4.1 7-10.1 7-17.6z"
          />
          <path
            fill="#FBBC05"
            d="M10.4 28.7A14.6 14.6 0 0 1 9.5 24c0-1.6.3-3.2.8-4.7l-7.8-6.1A24 24 0 0 0 0 24c0 3.9.9 7.5 2.6 10.8l7.8-6.1z"
          />
          <path
            fill="#34A853"
            d="M24 48c6.5 0 11.9-2.1 15.9-5.8l-7.6-5.9c-2.1 1.4-4.9 2.3-8.3 2.3-6.3 0-11.7-4.1-13.6-9.8l-7.8 6.1C6.6 42.6 14.6 48 24 48z"
          />
        </svg>
        {busy ? "Opening Google…" : "Continue with Google"}
      </button>
    </>
  );
}
