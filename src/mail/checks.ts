import type { Config } from "../config.js";
import type { Check } from "../kit/check.js";
import { mailboxUrl, mailMode } from "./destination.js";
import { checkSmtp, smtpDestination } from "./smtp.js";

/**
 * `npm run doctor`'s mail line: with SMTP_URL, whether the server answers and takes the login
 * (nodemailer's verify, within `timeoutMs`); otherwise where mail goes instead.
 */
export async function mailChecks(
  config: Pick<Config, "mail" | "appUrl" | "nodeEnv">,
  timeoutMs = 10_000,
): Promise<Check[]> {
  const name = "mail";
  const mode = mailMode(config);
  if (mode === "local-mailbox") {
    return [
      {
        level: "ok",
        name,
        message: `no SMTP_URL: mail is kept in the local mailbox at ${mailboxUrl(config)}; set SMTP_URL to send it`,
      },
    ];
  }
  if (mode === "off") {
    return [
      {
        level: config.nodeEnv === "production" ? "problem" : "warning",
        name,
        message:
          "not sent: SMTP_URL is unset and the local mailbox is off, so verification, reset and receipt emails wait in the outbox; set SMTP_URL (or LOCAL_MAILBOX=on)",
      },
    ];
  }
  const smtpUrl = config.mail.smtpUrl as string;
  // The default sender is fine for the local mailbox; a real mail server refuses it or files it as spam.
  const warnings: Check[] = /@localhost>?$/i.test(config.mail.from)
    ? [
        {
          level: "warning",
          name: "mail sender",
          message: `MAIL_FROM is ${config.mail.from}, which receiving servers refuse or file as spam; set MAIL_FROM to an address of your domain`,
        },
      ]
    : [];
  const failure = await checkSmtp(smtpUrl, timeoutMs);
  const check: Check = failure
    ? { level: "problem", name, message: `${failure.error}; check SMTP_URL (host, port, user and password)` }
    : {
        level: "ok",
        name,
        message: `${smtpDestination(smtpUrl)} accepts the connection; mail is sent from ${config.mail.from}`,
      };
  return [check, ...warnings];
}
