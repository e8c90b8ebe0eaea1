import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { freePort } from "../src/db/embedded.js";
import { createLogger } from "../src/logger.js";
import { enqueueMail } from "../src/mail/outbox.js";
import { type MailSenderOptions, startMailSender } from "../src/mail/sender.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type SmtpSink, startSmtpSink } from "./support/smtp.js";
import { waitFor } from "./support/wait.js";

// The mail sender against a real SMTP server (smtp-server, with a login) and a real PostgreSQL:
// what is enqueued arrives once with the right envelope and body, survives the server being down,
// and a message that cannot be sent fails alone.

const appUrl = "https://credits.example.test";
const from = "Coinslot <no-reply@credits.example.test>";
const shortRetry = { baseDelayMs: 50, maxDelayMs: 200, giveUpAfterMs: 60_000 };

let database: TestDatabase;
let sink: SmtpSink;
const running: { stop: () => Promise<void> }[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  sink = await startSmtpSink();
});
afterAll(async () => {
  await sink?.close();
  await database?.drop();
});
beforeEach(async () => {
  // Every test starts from an empty outbox, so no sender of one test sends another test's mail.
  await database.pool.query("delete from mail.outbox");
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((sender) => sender.stop()));
});

function startSender(
  mail: { smtpUrl?: string; localMailbox?: boolean },
  overrides: Partial<MailSenderOptions> = {},
) {
  const sender = startMailSender({
    pool: database.pool,
    logger: createLogger("silent"),
    config: { appUrl, mail: { smtpUrl: mail.smtpUrl, from, localMailbox: mail.localMailbox ?? false } },
    intervalMs: 20,
    timeoutMs: 3_000,
    retry: shortRetry,
    ...overrides,
  });
  running.push(sender);
  return sender;
}

const rowsTo = async (to: string) =>
  (
    await database.pool.query(
      "select status, attempts, last_error, delivery, sent_at from mail.outbox where to_address = $1",
      [to],
    )
  ).rows;

const verifyLink = (token: string) => `${appUrl}/api/auth/verify-email?token=${token}&callbackURL=%2F`;

describe("sending over SMTP", () => {
  it("delivers an enqueued message with its sender, recipient, subject and both bodies, and marks it sent", async () => {
    const to = "ada@example.com";
    expect(
      await enqueueMail(database.pool, {
        kind: "verify-email",
        to,
        data: { name: "Ada", url: verifyLink("t1") },
      }),
    ).toBe(true);
    startSender({ smtpUrl: sink.url });
    const [mail] = await waitFor(
      () => sink.to(to).length > 0 && sink.to(to),
      "the message at the SMTP server",
    );
    expect(mail?.envelopeFrom).toBe("no-reply@credits.example.test");
    expect(mail?.envelopeTo).toEqual([to]);
    expect(mail?.parsed.from?.text).toBe(from.replace("Coinslot", '"Coinslot"'));
    expect(mail?.parsed.to && "text" in mail.parsed.to ? mail.parsed.to.text : undefined).toBe(to);
    expect(mail?.parsed.subject).toBe("Confirm your email address for Coinslot");
    expect(mail?.parsed.headers.get("auto-submitted")).toBe("auto-generated");
    expect(mail?.text).toContain("Hello Ada,");
    expect(mail?.text).toContain(verifyLink("t1"));
    expect(mail?.parsed.html).toContain(`href="${verifyLink("t1").replaceAll("&", "&#38;")}"`);
    const [row] = await waitFor(async () => {
      const rows = await rowsTo(to);
      return rows[0]?.status === "sent" && rows;
    }, "the row marked sent");
    expect(row).toMatchObject({ status: "sent", attempts: 1, delivery: "smtp", last_error: null });
  });

  it("sends each of many messages exactly once with two senders claiming at the same time", async () => {
    const recipients = Array.from({ length: 40 }, (_, index) => `many-${index}@example.com`);
    await Promise.all(
      recipients.map((to, index) =>
        enqueueMail(database.pool, {
          kind: "verify-email",
          to,
          data: { name: `N${index}`, url: verifyLink(`m${index}`) },
        }),
      ),
    );
    // Each sender has a server of its own, so the test sees who sent what.
    const other = await startSmtpSink();
    try {
      startSender({ smtpUrl: sink.url }, { batchSize: 4 });
      startSender({ smtpUrl: other.url }, { batchSize: 4 });
      await waitFor(async () => {
        const { rows } = await database.pool.query(
          "select count(*)::int as n from mail.outbox where status = 'sent'",
        );
        return rows[0].n === recipients.length;
      }, "every message marked sent");
      // A message is claimed under a lease before it is sent, so once all are marked sent no copy can follow.
      const copies = recipients.map((to) => sink.to(to).length + other.to(to).length);
      expect(copies).toEqual(recipients.map(() => 1));
      expect(sink.received.filter((mail) => mail.envelopeTo[0]?.startsWith("many-")).length).toBeGreaterThan(
        0,
      );
      expect(other.received.length).toBeGreaterThan(0);
      const attempts = await database.pool.query("select distinct attempts from mail.outbox");
      expect(attempts.rows).toEqual([{ attempts: 1 }]);
    } finally {
      await Promise.all(running.splice(0).map((sender) => sender.stop()));
      await other.close();
    }
  });

  it("keeps a message pending with its attempts and error while the server is down, then delivers it once", async () => {
    const port = await freePort();
    const to = "patient@example.com";
    await enqueueMail(database.pool, {
      kind: "password-changed",
      to,
      data: { name: "Pat", resetUrl: `${appUrl}/forgot-password` },
    });
    startSender({ smtpUrl: `smtp://coinslot:smtp-test-password@127.0.0.1:${port}` });
    const [failing] = await waitFor(async () => {
      const rows = await rowsTo(to);
      return rows[0]?.attempts >= 2 && rows;
    }, "two failed attempts");
    expect(failing).toMatchObject({ status: "pending", delivery: null, sent_at: null });
    expect(failing?.last_error).toBe(`could not connect to smtp://127.0.0.1:${port} (ECONNREFUSED)`);
    const late = await startSmtpSink({ port });
    try {
      await waitFor(
        async () => (await rowsTo(to))[0]?.status === "sent",
        "the delivery once the server is up",
      );
      expect(late.to(to)).toHaveLength(1);
      expect(late.to(to)[0]?.parsed.subject).toBe("Your Coinslot password was changed");
    } finally {
      await late.close();
    }
  });

  it("fails a refused recipient and a malformed message at once, with the reason, and still sends the rest", async () => {
    sink.refused.add("nobody@example.com");
    await enqueueMail(database.pool, {
      kind: "account-deleted",
      to: "nobody@example.com",
      data: { name: "X" },
    });
    await enqueueMail(database.pool, { kind: "verify-email", to: "broken@example.com", data: { name: "B" } });
    await enqueueMail(database.pool, {
      kind: "reset-password",
      to: "fine@example.com",
      data: { name: "F", url: `${appUrl}/reset?token=r`, expiresInMinutes: 60 },
    });
    startSender({ smtpUrl: sink.url });
    await waitFor(async () => {
      const { rows } = await database.pool.query(
        "select count(*)::int as n from mail.outbox where status <> 'pending'",
      );
      return rows[0].n === 3;
    }, "all three messages done");
    expect(await rowsTo("nobody@example.com")).toEqual([
      expect.objectContaining({
        status: "failed",
        attempts: 1,
        last_error: expect.stringMatching(/550 5\.1\.1 No such mailbox/),
      }),
    ]);
    expect(await rowsTo("broken@example.com")).toEqual([
      expect.objectContaining({
        status: "failed",
        attempts: 1,
        last_error: expect.stringMatching(/^the data does not fit the verify-email template \(url: /),
      }),
    ]);
    expect(await rowsTo("fine@example.com")).toEqual([
      expect.objectContaining({ status: "sent", delivery: "smtp" }),
    ]);
    expect(sink.to("nobody@example.com")).toEqual([]);
    expect(sink.to("broken@example.com")).toEqual([]);
    expect(sink.to("fine@example.com")[0]?.text).toContain("expires in 60 minutes");
  });
});

describe("without SMTP_URL", () => {
  it("keeps mail in the local mailbox, so a later SMTP server never sends it to real people", async () => {
    await enqueueMail(database.pool, {
      kind: "account-deleted",
      to: "local@example.com",
      data: { name: "L" },
    });
    const local = startSender({ localMailbox: true });
    await waitFor(
      async () => (await rowsTo("local@example.com"))[0]?.status === "sent",
      "the local delivery",
    );
    expect(await rowsTo("local@example.com")).toEqual([
      expect.objectContaining({ status: "sent", delivery: "local-mailbox", attempts: 1 }),
    ]);
    await local.stop();
    // SMTP_URL is set now: new mail goes out, the mailbox's does not.
    await enqueueMail(database.pool, {
      kind: "account-deleted",
      to: "after@example.com",
      data: { name: "A" },
    });
    startSender({ smtpUrl: sink.url });
    await waitFor(() => sink.to("after@example.com").length === 1, "the new message over SMTP");
    expect(sink.to("local@example.com")).toEqual([]);
  });

  it("sends nothing without the local mailbox either, and says at start which setting fixes it", async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: "info" },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    await enqueueMail(database.pool, {
      kind: "account-deleted",
      to: "waiting@example.com",
      data: { name: "W" },
    });
    startSender({}, { logger });
    const [line] = lines.map((text) => JSON.parse(text));
    expect(line).toMatchObject({
      level: 40,
      mail: "off",
      msg: expect.stringMatching(/^Mail is not being sent: .*set SMTP_URL/),
    });
    expect(lines).toHaveLength(1);
    expect(await rowsTo("waiting@example.com")).toEqual([
      expect.objectContaining({ status: "pending", attempts: 0 }),
    ]);
  });
});
