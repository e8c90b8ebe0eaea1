import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLedger } from "../src/ledger/index.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

let database: TestDatabase;
const dataDir = mkdtempSync(join(tmpdir(), "coinslot-cli-"));

beforeAll(async () => {
  database = await createTestDatabase();
  const ledger = createLedger({ pool: database.pool, holdTtlSeconds: 300 });
  const created = await ledger.ensureAccount({
    userId: "cli-user",
    email: "Ada@Example.com",
    signupBonusCents: 50,
  });
  expect(created.error).toBeNull();
});
afterAll(() => database.drop());

function cli(...args: string[]) {
  const { DATABASE_URL: _unused, ...inherited } = process.env;
  const result = spawnSync("node", ["--import", "tsx", "src/cli/index.ts", ...args], {
    env: { ...inherited, DATA_DIR: dataDir, DATABASE_URL: database.url },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

async function balanceOf(userId: string): Promise<number> {
  const result = await database.pool.query("select balance_cents from credits.accounts where user_id = $1", [
    userId,
  ]);
  return result.rows[0].balance_cents;
}

describe("npm run cli", () => {
  it("grants credits with a reason, once per --key, and shows them in balance and ledger", async () => {
    const grant = cli(
      "grant",
      "ada@example.com",
      "250",
      "--reason",
      "Support goodwill",
      "--key",
      "ticket-42",
    );
    expect(grant).toMatchObject({ code: 0, stdout: "Granted $2.50 for ada@example.com; balance $3.00." });
    const again = cli(
      "grant",
      "ada@example.com",
      "250",
      "--reason",
      "Support goodwill",
      "--key",
      "ticket-42",
    );
    expect(again).toMatchObject({
      code: 0,
      stdout: "Already applied earlier $2.50 for ada@example.com; balance $3.00.",
    });
    expect(await balanceOf("cli-user")).toBe(300);

    expect(cli("balance", "ada@example.com")).toMatchObject({
      code: 0,
      stdout: "ada@example.com: balance $3.00, held $0.00, available $3.00",
    });
    const csv = cli("ledger", "ada@example.com", "--csv");
    expect(csv.code).toBe(0);
    const lines = csv.stdout.split("\n");
    expect(lines[0]).toBe("created_at,kind,amount_cents,description");
    expect(lines[1]).toMatch(/^\S+,adjustment,250,Support goodwill \(by command line\)$/);
    expect(lines[2]).toMatch(/^\S+,signup_bonus,50,/);
  });

  it("removes credits with negative cents but never below what is available", async () => {
    expect(cli("grant", "ada@example.com", "-100", "--reason", "Duplicate grant").code).toBe(0);
    expect(await balanceOf("cli-user")).toBe(200);
    const tooMuch = cli("grant", "ada@example.com", "-5000", "--reason", "Mistake");
    expect(tooMuch.code).toBe(1);
    expect(tooMuch.stderr).toMatch(/^Refused: /);
    expect(await balanceOf("cli-user")).toBe(200);
  });

  it.each([
    [
      ["grant", "nobody@example.com", "100", "--reason", "why not"],
      /No account has the email nobody@example.com/,
    ],
    [
      ["grant", "ada@example.com", "1.5", "--reason", "why not"],
      /cents must be a whole number from 1 to 100000000/,
    ],
    [["grant", "ada@example.com", "abc", "--reason", "why not"], /got "abc"/],
    [["grant", "ada@example.com", "100"], /Say why with --reason/],
    [["balance", "nobody@example.com"], /No account has the email/],
    [["frobnicate"], /Usage: npm run cli -- <command>/],
  ])("refuses %o with a clear message and changes nothing", async (args, message) => {
    const before = await balanceOf("cli-user");
    const result = cli(...args);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(await balanceOf("cli-user")).toBe(before);
  });

  it("verify-email marks a password account verified, in any letter case, and says so when it already is", async () => {
    // The row Better Auth writes at a password sign-up: the email lowercased and not verified.
    await database.pool.query(
      `insert into auth_coinslot."user" (id, name, email, "emailVerified", "updatedAt")
       values ('cli-boss', 'Boss', 'boss@example.com', false, now())`,
    );
    const verified = async () =>
      (await database.pool.query(`select "emailVerified" from auth_coinslot."user" where id = 'cli-boss'`))
        .rows[0].emailVerified;

    expect(cli("verify-email", "Boss@Example.COM")).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^Marked Boss@Example\.COM as verified\./),
    });
    expect(await verified()).toBe(true);
    expect(cli("verify-email", "boss@example.com")).toMatchObject({
      code: 0,
      stdout: "boss@example.com is already verified; nothing changed.",
    });
    expect(await verified()).toBe(true);
  });

  it("verify-email refuses an email no account has, and a missing email, changing nothing", async () => {
    const unknown = cli("verify-email", "nobody@example.com");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /^No sign-in account has the email nobody@example\.com\. The person must sign up first/,
    );
    expect(cli("verify-email")).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/verify-email <email>/),
    });
    const count = await database.pool.query(
      `select count(*)::int as n from auth_coinslot."user" where "emailVerified"`,
    );
    expect(count.rows[0].n).toBe(1);
  });

  it("applies migrations and sweeps expired holds", async () => {
    expect(cli("migrate")).toMatchObject({ code: 0, stdout: "Migrations are up to date." });
    await database.pool.query(
      `update credits.accounts set held_cents = held_cents + 20 where user_id = 'cli-user';
       insert into credits.holds (user_id, amount_cents, idempotency_key, expires_at)
         values ('cli-user', 20, 'cli-expired-hold', now() - interval '1 second')`,
    );
    expect(cli("sweep-holds")).toMatchObject({ code: 0, stdout: "Released 1 expired hold(s)." });
    const held = await database.pool.query(
      "select held_cents from credits.accounts where user_id = 'cli-user'",
    );
    expect(held.rows[0].held_cents).toBe(0);
  });
});
