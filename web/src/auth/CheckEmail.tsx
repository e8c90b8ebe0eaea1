import { useState } from "react";
import { api } from "../shared/api.js";
import { Notice } from "../shared/Notice.js";

/**
 * After a form that mails a link: where to look, a way to get the verification link again, and, on
 * a machine without SMTP, the local mailbox where the mail is.
 */
export function CheckEmail({
  kind,
  email,
  localMailbox,
  onBack,
}: {
  kind: "verify" | "reset";
  email: string;
  localMailbox: boolean;
  onBack: () => void;
}) {
  const [resent, setResent] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function sendAgain() {
    setBusy(true);
    const result = await api("/api/auth/send-verification-email", { body: { email, callbackURL: "/" } });
    setBusy(false);
    setResent(
      result.error
        ? { tone: "error", text: result.error.message }
        : { tone: "success", text: "Sent again. The newest link is the one to follow." },
    );
  }

  return (
    <div data-testid="check-email">
      <p>
        {kind === "verify"
          ? `If ${email} can receive mail, a link to confirm it is on its way. Follow it to sign in; your starter credits arrive with it.`
          : `If an account uses ${email}, a link to choose a new password is on its way. It works once, within an hour.`}
      </p>
      {localMailbox ? (
        <Notice tone="info">
          This server keeps mail on this machine: read it in the <a href="/dev/mailbox">local mailbox</a>.
        </Notice>
      ) : null}
      {resent ? <Notice tone={resent.tone}>{resent.text}</Notice> : null}
      {kind === "verify" ? (
        <button type="button" className="button-secondary button-wide" onClick={sendAgain} disabled={busy}>
          {busy ? "Sending…" : "Send the link again"}
        </button>
      ) : null}
      <p className="auth-switch">
        <button type="button" className="button-link" onClick={onBack}>
          Back to sign in
        </button>
      </p>
    </div>
  );
}
