import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { createApp } from "../src/http/app.js";
import { createLedger } from "../src/ledger/index.js";
import { createLogger } from "../src/logger.js";
import { enqueueMail } from "../src/mail/outbox.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

// /dev/mailbox over the real app and database: on for a loopback APP_URL without SMTP_URL, a 404
// like any unknown path everywhere else.

let database: TestDatabase;

function appWith(environment: Record<string, string>) {
  const config = loadConfig({
    NODE_ENV: "test",
    DATA_DIR: "/tmp/coinslot-mail-mailbox-test",
    AUTH_SECRET: "x".repeat(32),
    STRIPE_WEBHOOK_SECRET: "whsec_mailbox_test",
    LOG_LEVEL: "silent",
    ...environment,
  });
  const ledger = createLedger({ pool: database.pool, holdTtlSeconds: config.holdTtlSeconds });
  return { config, app: createApp({ config, pool: database.pool, logger: createLogger("silent"), ledger }) };
}

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

/** The list's rows in order: each row's link target and text. */
function rowsOf(html: string): { href: string; text: string }[] {
  return [...html.matchAll(/<tr data-testid="mail"[^>]*>[\s\S]*?<a href="([^"]+)">([^<]*)<\/a>/g)].map(
    (match) => ({
      href: match[1] ?? "",
      text: match[2] ?? "",
    }),
  );
}

describe("the local mailbox", () => {
  const local = () => appWith({ APP_URL: "http://localhost:3999" });

  it("lists every message newest first, each a link named by its subject", async () => {
    const { app, config } = local();
    expect(config.mail.localMailbox).toBe(true);
    await enqueueMail(database.pool, {
      kind: "verify-email",
      to: "first@example.com",
      data: { name: "First", url: "http://localhost:3999/api/auth/verify-email?token=one" },
    });
    await enqueueMail(database.pool, {
      kind: "account-deleted",
      to: "second@example.com",
      data: { name: "Second" },
    });
    await enqueueMail(database.pool, {
      kind: "verify-email",
      to: "<b>third</b>@example.com",
      data: { name: "T" },
    });
    const response = await app.request("/dev/mailbox");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const html = await response.text();
    const rows = rowsOf(html);
    expect(rows.map((row) => row.text)).toEqual([
      expect.stringMatching(/^\(cannot be shown: the data does not fit the verify-email template \(url: /),
      "Your Coinslot account was deleted",
      "Confirm your email address for Coinslot",
    ]);
    expect(rows[2]?.href).toMatch(/^\/dev\/mailbox\/\d+$/);
    expect(html).toContain("&#60;b&#62;third&#60;/b&#62;@example.com");
    expect(html).not.toContain("<b>third");
  });

  it("shows one message's text with its links clickable and everything else escaped", async () => {
    const { app } = local();
    const url = "http://localhost:3999/reset-password/tok?callbackURL=%2F&x=<script>";
    await enqueueMail(database.pool, {
      kind: "reset-password",
      to: "reader@example.com",
      data: { name: `<img src=x onerror="alert(1)">`, url, expiresInMinutes: 60 },
    });
    const list = await (await app.request("/dev/mailbox")).text();
    const newest = rowsOf(list)[0];
    expect(newest?.text).toBe("Reset your Coinslot password");
    const response = await app.request(newest?.href as string);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<h1 data-testid="mail-subject">Reset your Coinslot password</h1>');
    expect(html).toContain('<td data-testid="mail-to">reader@example.com</td>');
    const escapedUrl = new URL(url).toString().replaceAll("&", "&#38;");
    expect(html).toContain(`<a href="${escapedUrl}">${escapedUrl}</a>`);
    expect(html).toContain("Hello &#60;img src=x onerror=&#34;alert(1)&#34;&#62;,");
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<script>");
  });

  it("answers 404 in Coinslot's JSON shape for a message that does not exist", async () => {
    const { app } = local();
    for (const path of ["/dev/mailbox/999999999", "/dev/mailbox/not-a-number"]) {
      const response = await app.request(path);
      expect(response.status, path).toBe(404);
      expect(await response.json(), path).toEqual({
        error: { code: "NOT_FOUND", message: expect.stringContaining("/dev/mailbox") },
      });
    }
  });

  it("is not there with SMTP_URL, nor behind a public APP_URL: 404 like any unknown path", async () => {
    const [withSmtp, publicUrl] = [
      appWith({ APP_URL: "http://localhost:3999", SMTP_URL: "smtp://127.0.0.1:2525" }),
      appWith({ APP_URL: "https://credits.example.com" }),
    ];
    for (const { app, config } of [withSmtp, publicUrl]) {
      expect(config.mail.localMailbox).toBe(false);
      const [id] = (await database.pool.query("select id::text from mail.outbox limit 1")).rows.map(
        (row) => row.id,
      );
      for (const path of ["/dev/mailbox", `/dev/mailbox/${id}`]) {
        const response = await app.request(path);
        expect(response.status, path).toBe(404);
        expect(await response.json(), path).toEqual({
          error: { code: "NOT_FOUND", message: `No route for GET ${path}.` },
        });
      }
    }
  });
});
