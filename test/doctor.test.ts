import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../src/db/embedded.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { smtpPassword, startSmtpSink } from "./support/smtp.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

function doctor(environment: Record<string, string>) {
  const { DATABASE_URL: _unused, ...inherited } = process.env;
  const result = spawnSync("node", ["--import", "tsx", "src/cli/doctor.ts"], {
    env: { ...inherited, DATA_DIR: mkdtempSync(join(tmpdir(), "coinslot-doctor-")), ...environment },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: result.status, lines: result.stdout.split("\n").filter(Boolean), stderr: result.stderr };
}

describe("npm run doctor", () => {
  it("passes on a migrated database with one line per check", () => {
    const { code, lines } = doctor({ DATABASE_URL: database.url });
    expect(lines.some((line) => /^ok +database: connected to PostgreSQL \d+/.test(line))).toBe(true);
    expect(lines.some((line) => /^ok +migrations: all \d+ applied$/.test(line))).toBe(true);
    expect(lines.some((line) => /^ok +row-level security: enabled and forced/.test(line))).toBe(true);
    expect(lines.some((line) => /^ok +grants: /.test(line))).toBe(true);
    expect(lines.some((line) => /^ok +server login: /.test(line))).toBe(true);
    expect(lines.at(-1)).toBe("Coinslot looks healthy.");
    expect(code).toBe(0);
  });

  it("names each problem with its fix and exits 1", async () => {
    await database.pool.query("create table credits.unprotected (user_id text)");
    await database.pool.query("grant insert on credits.entries to authenticated");
    try {
      const { code, lines } = doctor({
        DATABASE_URL: database.url,
        STRIPE_SECRET_KEY: "sk_live_abc",
        APP_URL: "http://shop.example.com",
      });
      expect(code).toBe(1);
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /^problem +row-level security: not enabled and forced on credits\.unprotected; run ALTER TABLE/,
          ),
          expect.stringMatching(
            /^problem +grants: API roles may write: authenticated INSERT on credits\.entries; revoke/,
          ),
          expect.stringMatching(/^problem +stripe webhook: STRIPE_WEBHOOK_SECRET is unset/),
          expect.stringMatching(
            /^problem +app url: APP_URL http:\/\/shop\.example\.com is not https while Stripe keys are live/,
          ),
        ]),
      );
    } finally {
      await database.pool.query("drop table credits.unprotected");
      await database.pool.query("revoke insert on credits.entries from authenticated");
    }
  });

  it("warns about an ADMIN_EMAILS account whose email is not verified, naming the command", async () => {
    await database.pool.query(
      `insert into auth_coinslot."user" (id, name, email, "emailVerified", "updatedAt")
       values ('doctor-boss', 'Boss', 'boss@example.com', false, now()),
              ('doctor-root', 'Root', 'root@example.com', true, now())`,
    );
    try {
      const { code, lines } = doctor({
        DATABASE_URL: database.url,
        ADMIN_EMAILS: "Boss@Example.com, root@example.com, nobody-yet@example.com",
      });
      expect(lines.filter((line) => /^warning +admins: /.test(line))).toEqual([
        "warning  admins: boss@example.com is in ADMIN_EMAILS but its email is not verified, so it has no admin rights; if that account is yours, run `npm run cli -- verify-email boss@example.com`",
      ]);
      expect(code).toBe(0);
    } finally {
      await database.pool.query(
        `delete from auth_coinslot."user" where id in ('doctor-boss', 'doctor-root')`,
      );
    }
  });

  it("reports an invalid setting as a problem line", () => {
    const { code, lines } = doctor({ DATABASE_URL: database.url, PORT: "abc" });
    expect(code).toBe(1);
    expect(lines[0]).toBe('problem  settings: PORT must be a whole number from 1 to 65535, got "abc"');
  });

  it("reports an unreachable database as a problem, not a crash", () => {
    const { code, lines } = doctor({ DATABASE_URL: "postgres://nobody:x@127.0.0.1:1/none" });
    expect(code).toBe(1);
    expect(lines.some((line) => /^problem +database: cannot be reached/.test(line))).toBe(true);
  });
});

describe("npm run doctor's mail line", () => {
  /** The doctor without blocking this process, whose SMTP server must answer it meanwhile. */
  function doctorInBackground(environment: Record<string, string>): Promise<string[]> {
    const { DATABASE_URL: _unused, ...inherited } = process.env;
    return new Promise((done) => {
      execFile(
        "node",
        ["--import", "tsx", "src/cli/doctor.ts"],
        {
          env: { ...inherited, DATA_DIR: mkdtempSync(join(tmpdir(), "coinslot-doctor-")), ...environment },
          encoding: "utf8",
          timeout: 60_000,
        },
        (_error, stdout) => done(stdout.split("\n").filter(Boolean)),
      );
    });
  }

  it("reports an SMTP server nobody listens on as a problem naming SMTP_URL, without its password", async () => {
    const port = await freePort();
    const { code, lines } = doctor({
      DATABASE_URL: database.url,
      SMTP_URL: `smtp://mailer:not-in-output@127.0.0.1:${port}`,
    });
    expect(lines).toContain(
      `problem  mail: could not connect to smtp://127.0.0.1:${port} (ECONNREFUSED); check SMTP_URL (host, port, user and password)`,
    );
    expect(lines.join("\n")).not.toContain("not-in-output");
    expect(code).toBe(1);
  });

  it("says the server accepts the connection and login when it does", async () => {
    const sink = await startSmtpSink();
    try {
      const lines = await doctorInBackground({ DATABASE_URL: database.url, SMTP_URL: sink.url });
      expect(lines).toContain(
        `ok       mail: smtp://127.0.0.1:${sink.port} accepts the connection; mail is sent from Coinslot <no-reply@localhost>`,
      );
      expect(lines.join("\n")).not.toContain(smtpPassword);
      expect(lines).toContain(
        "warning  mail sender: MAIL_FROM is Coinslot <no-reply@localhost>, which receiving servers refuse or file as spam; set MAIL_FROM to an address of your domain",
      );
    } finally {
      await sink.close();
    }
  });

  it("says where mail goes without SMTP_URL", () => {
    const { lines } = doctor({ DATABASE_URL: database.url, PORT: "3456" });
    expect(lines).toContain(
      "ok       mail: no SMTP_URL: mail is kept in the local mailbox at http://localhost:3456/dev/mailbox; set SMTP_URL to send it",
    );
  });
});
