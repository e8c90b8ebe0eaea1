import { useCallback, useEffect, useState } from "react";
import { ResetPasswordPage } from "./auth/ResetPasswordPage.js";
import { type Mode, SignInPage } from "./auth/SignInPage.js";
import { SignedInApp } from "./SignedInApp.js";
import { type ApiError, api } from "./shared/api.js";
import { Notice } from "./shared/Notice.js";
import type { Me, PublicConfig } from "./shared/types.js";

type Session = { state: "loading" } | { state: "signed-out" } | { state: "signed-in"; me: Me };

/** Loads the public settings and the session, then shows sign-in or the app. */
export function App() {
  const [config, setConfig] = useState<PublicConfig | null>(null);
  const [session, setSession] = useState<Session>({ state: "loading" });
  const [error, setError] = useState<ApiError | null>(null);
  // The pages emailed links open: they work signed in or out.
  const [linkPage, setLinkPage] = useState(window.location.pathname);

  const refresh = useCallback(async () => {
    const result = await api<Me>("/api/me");
    if (result.data) setSession({ state: "signed-in", me: result.data });
    else if (result.error.status === 401) setSession({ state: "signed-out" });
    else setError(result.error);
  }, []);

  useEffect(() => {
    void api<PublicConfig>("/api/config").then((result) => {
      if (result.error) setError(result.error);
      else setConfig(result.data);
    });
    void refresh();
  }, [refresh]);

  if (error && (!config || session.state === "loading")) {
    return (
      <main className="center-page">
        <Notice tone="error" title="Coinslot could not load">
          <p>{error.message}</p>
          <button
            type="button"
            className="button-secondary button-small"
            onClick={() => window.location.reload()}
          >
            Reload
          </button>
        </Notice>
      </main>
    );
  }
  if (!config || session.state === "loading") {
    return (
      <main className="center-page" aria-busy="true">
        <p className="muted">Loading Coinslot…</p>
      </main>
    );
  }
  if (linkPage === "/reset-password") {
    return (
      <ResetPasswordPage
        onDone={(next) => {
          const path = next === "forgot" ? "/forgot-password" : "/";
          window.history.replaceState(null, "", path);
          setLinkPage(path);
          setSession({ state: "signed-out" });
        }}
      />
    );
  }
  if (session.state === "signed-out") {
    const mode: Mode = linkPage === "/forgot-password" ? "forgot" : "sign-in";
    return <SignInPage key={mode} config={config} initialMode={mode} onSignedIn={() => void refresh()} />;
  }
  return (
    <SignedInApp
      config={config}
      me={session.me}
      onMe={(me) => setSession({ state: "signed-in", me })}
      onRefresh={refresh}
      onSignedOut={() => setSession({ state: "signed-out" })}
    />
  );
}
