import { useState } from "react";
import { api } from "../shared/api.js";
import { Notice } from "../shared/Notice.js";

/** For a signed-in person whose address is not confirmed yet: why it matters, and the link again. */
export function VerifyEmailNotice({ email, localMailbox }: { email: string; localMailbox: boolean }) {
  const [state, setState] = useState<"idle" | "sending" | "sent" | string>("idle");

  async function sendAgain() {
    setState("sending");
    const result = await api("/api/auth/send-verification-email", { body: { email, callbackURL: "/" } });
    setState(result.error ? result.error.message : "sent");
  }

  return (
    <Notice tone="warning" title="Confirm your email address">
      <p>
        Follow the link we sent to {email}: your starter credits arrive with it.
        {localMailbox ? (
          <>
            {" "}
            Mail stays on this machine: see the <a href="/dev/mailbox">local mailbox</a>.
          </>
        ) : null}
      </p>
      {state === "sent" ? <p>Sent again. The newest link is the one to follow.</p> : null}
      {state !== "idle" && state !== "sending" && state !== "sent" ? <p>{state}</p> : null}
      <button
        type="button"
        className="button-secondary button-small"
        onClick={sendAgain}
        disabled={state === "sending"}
      >
        {state === "sending" ? "Sending…" : "Send the link again"}
      </button>
    </Notice>
  );
}
