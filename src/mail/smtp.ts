import nodemailer, { type NodemailerError } from "nodemailer";
import type { RenderedMail } from "./letter.js";

/**
 * An SMTP URL as logs and the doctor show it: scheme, host and port, never the user or password
 * (some providers use an API token as the user name).
 *
 * @example
 * smtpDestination("smtp://apikey:secret@smtp.example.com:587"); // "smtp://smtp.example.com:587"
 */
export function smtpDestination(smtpUrl: string): string {
  const url = new URL(smtpUrl);
  const port = url.port || (url.protocol === "smtps:" ? "465" : "587");
  return `${url.protocol}//${url.hostname}:${port}`;
}

export type SmtpTransport = ReturnType<typeof createSmtpTransport>;

/**
 * A nodemailer transport to `smtpUrl` (smtp:// upgrades with STARTTLS when the server offers it,
 * smtps:// is TLS from the start), one connection per message. Every phase of a conversation
 * (connecting, the greeting, each reply) is bounded by `timeoutMs`.
 */
export function createSmtpTransport(smtpUrl: string, timeoutMs: number) {
  return nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
  });
}

/** What an SMTP failure means for the message: retry later, or never (`permanent`). */
export type SmtpFailure = { error: string; permanent: boolean };

/**
 * Why sending failed, in one line without credentials. Only a refusal of this message's recipient
 * (a 5xx answer to RCPT TO, or an address nodemailer cannot use) is permanent: a refused login or
 * sender is the operator's to fix in SMTP_URL or MAIL_FROM, after which the message should still go.
 */
export function describeSmtpFailure(error: unknown, destination: string): SmtpFailure {
  if (!(error instanceof Error)) return { error: String(error).slice(0, 300), permanent: false };
  const failure = error as NodemailerError & { originalCode?: string };
  const systemCode = failure.originalCode ?? failure.errno;
  if (failure.code === "ESOCKET" || failure.code === "ECONNECTION" || failure.code === "EDNS") {
    const reason = typeof systemCode === "string" ? systemCode : failure.message.slice(0, 200);
    return { error: `could not connect to ${destination} (${reason})`, permanent: false };
  }
  if (failure.code === "ETIMEDOUT") {
    return { error: `${destination} did not answer in time`, permanent: false };
  }
  const recipientRefused =
    failure.code === "EENVELOPE" &&
    (failure.command === "API" || (failure.command === "RCPT TO" && failure.permanent === true));
  return { error: failure.message.slice(0, 300), permanent: recipientRefused };
}

export type SendOutcome = { sent: true; messageId: string } | ({ sent: false } & SmtpFailure);

/**
 * Sends one rendered message over `transport`. `messageId` stays the same on every attempt, so a
 * mail client that receives a retried message twice (at least once means it may) shows it once.
 *
 * @example
 * await sendMessage(transport, { from, to: "ada@example.com", messageId, mail: rendered, destination });
 */
export async function sendMessage(
  transport: SmtpTransport,
  input: { from: string; to: string; messageId: string; mail: RenderedMail; destination: string },
): Promise<SendOutcome> {
  try {
    const info = await transport.sendMail({
      from: input.from,
      to: input.to,
      subject: input.mail.subject,
      text: input.mail.text,
      html: input.mail.html,
      messageId: input.messageId,
      // RFC 3834: written by a machine, so auto-responders do not answer it.
      headers: { "Auto-Submitted": "auto-generated" },
    });
    return { sent: true, messageId: info.messageId };
  } catch (error) {
    return { sent: false, ...describeSmtpFailure(error, input.destination) };
  }
}

/**
 * Whether the SMTP server at `smtpUrl` accepts a connection and, when the URL names a user, the
 * login: nodemailer's `verify()`, bounded by `timeoutMs`. For `npm run doctor`.
 */
export async function checkSmtp(smtpUrl: string, timeoutMs: number): Promise<SmtpFailure | null> {
  const transport = createSmtpTransport(smtpUrl, timeoutMs);
  try {
    await transport.verify();
    return null;
  } catch (error) {
    return describeSmtpFailure(error, smtpDestination(smtpUrl));
  } finally {
    transport.close();
  }
}
