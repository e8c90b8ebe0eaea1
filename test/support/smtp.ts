import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { freePort } from "../../src/db/embedded.js";

/** One message as the SMTP server took it: the envelope, and the message parsed as a mail client would. */
export type ReceivedMail = {
  envelopeFrom: string;
  envelopeTo: string[];
  parsed: ParsedMail;
  /** The plain-text body. */
  text: string;
};

export type SmtpSink = {
  /** `smtp://user:password@127.0.0.1:<port>`, ready for SMTP_URL. */
  url: string;
  port: number;
  received: ReceivedMail[];
  /** Recipients refused for good with `550 5.1.1`, as a server refuses an unknown mailbox. */
  refused: Set<string>;
  /** Messages received for `address`. */
  to(address: string): ReceivedMail[];
  close(): Promise<void>;
};

export const smtpUser = "coinslot";
export const smtpPassword = "smtp-test-password";

/**
 * A real SMTP server (the smtp-server package) on 127.0.0.1 that keeps every message it is given.
 * It asks for a login (`smtpUser`/`smtpPassword`) and offers no STARTTLS, so the conversation is
 * plain SMTP on a loopback port. Pass `port` to start it where a sender already points (a server
 * that "comes up").
 *
 * @example
 * const sink = await startSmtpSink();
 * const config = loadConfig({ SMTP_URL: sink.url });
 */
export async function startSmtpSink(options: { port?: number } = {}): Promise<SmtpSink> {
  const port = options.port ?? (await freePort());
  const received: ReceivedMail[] = [];
  const refused = new Set<string>();
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.username === smtpUser && auth.password === smtpPassword)
        callback(null, { user: auth.username });
      else callback(new Error("Invalid username or password"));
    },
    onRcptTo(address, _session, callback) {
      if (!refused.has(address.address)) return callback();
      const error = new Error("5.1.1 No such mailbox here") as Error & { responseCode: number };
      error.responseCode = 550;
      callback(error);
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          received.push({
            envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            envelopeTo: session.envelope.rcptTo.map((recipient) => recipient.address),
            parsed,
            text: parsed.text ?? "",
          });
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((listening, failed) => {
    server.server.once("error", failed);
    server.listen(port, "127.0.0.1", () => listening());
  });
  return {
    url: `smtp://${smtpUser}:${smtpPassword}@127.0.0.1:${port}`,
    port,
    received,
    refused,
    to: (address) => received.filter((mail) => mail.envelopeTo.includes(address)),
    close: () => new Promise((done) => server.close(() => done())),
  };
}
