import type { Config } from "../config.js";
import { smtpDestination } from "./smtp.js";

/** Where this server's mail goes: an SMTP server, the local mailbox, or nowhere yet. */
export type MailMode = "smtp" | "local-mailbox" | "off";

export function mailMode(config: Pick<Config, "mail">): MailMode {
  if (config.mail.smtpUrl) return "smtp";
  return config.mail.localMailbox ? "local-mailbox" : "off";
}

/** The local mailbox's page, on this server. */
export function mailboxUrl(config: Pick<Config, "appUrl">): string {
  return new URL("/dev/mailbox", config.appUrl).toString();
}

/**
 * One sentence saying where mail goes and, when it goes nowhere, which setting fixes that: for the
 * start-up log and `npm run doctor`. Never the SMTP password.
 *
 * @example
 * describeMailDestination(config); // "Mail goes to the local mailbox at http://localhost:3000/dev/mailbox (no SMTP_URL); nothing is sent to real addresses"
 */
export function describeMailDestination(config: Pick<Config, "mail" | "appUrl">): string {
  const { smtpUrl, from } = config.mail;
  if (smtpUrl) return `Mail is sent through ${smtpDestination(smtpUrl)} from ${from}`;
  if (config.mail.localMailbox) {
    return `Mail goes to the local mailbox at ${mailboxUrl(config)} (no SMTP_URL); nothing is sent to real addresses`;
  }
  return "Mail is not being sent: SMTP_URL is unset and the local mailbox is off (APP_URL is not a loopback address, or LOCAL_MAILBOX=off), so verification, password reset and receipt emails wait in the outbox; set SMTP_URL (or LOCAL_MAILBOX=on to read them at /dev/mailbox)";
}
