import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  preparedStatementsAfter,
  type TestDatabase,
} from "../../test/support/database.js";
import { createLedger } from "../ledger/index.js";
import { together, transaction } from "./pool.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

const conflict = (code: string) => Object.assign(new Error("aborted by PostgreSQL"), { code });

describe("transaction", () => {
  it("runs again after a deadlock when attempts allow, and commits the run that succeeded", async () => {
    let runs = 0;
    const value = await transaction(
      database.pool,
      async (client) => {
        runs += 1;
        const { rows } = await client.query<{ value: number }>("select 7 as value");
        if (runs === 1) throw conflict("40P01");
        return rows[0]?.value;
      },
      { attempts: 3 },
    );
    expect({ runs, value }).toEqual({ runs: 2, value: 7 });
  });

  it("runs once by default, and never reruns on other errors", async () => {
    let runs = 0;
    const failing = (code: string, attempts?: number) =>
      transaction(
        database.pool,
        async () => {
          runs += 1;
          throw conflict(code);
        },
        attempts ? { attempts } : {},
      );
    await expect(failing("40P01")).rejects.toMatchObject({ code: "40P01" });
    expect(runs).toBe(1);
    await expect(failing("23505", 3)).rejects.toMatchObject({ code: "23505" });
    expect(runs).toBe(2);
    await expect(failing("40001", 3)).rejects.toMatchObject({ code: "40001" });
    expect(runs).toBe(5);
  });
});

describe("together", () => {
  it("lets every statement sent together finish before the transaction rolls back", async () => {
    await database.pool.query("create table if not exists together_probe (note text)");
    // The second caller reads its first result, then writes: were the transaction to roll back on
    // the first failure without waiting, that write would be committed on its own, outside it.
    const failing = transaction(database.pool, (client) =>
      together([
        client.query("select 1 / 0"),
        (async () => {
          await client.query("select 1").catch(() => undefined);
          await new Promise((resolve) => setImmediate(resolve));
          await client.query("insert into together_probe values ('sent after the failure')");
        })(),
      ]),
    );
    await expect(failing).rejects.toMatchObject({ code: "22012" });
    const { rows } = await database.pool.query("select count(*)::int as count from together_probe");
    expect(rows[0]).toEqual({ count: 0 });
  });
});

describe("transaction with commitWithWork", () => {
  it("commits what work sent, and rolls all of it back when one statement fails", async () => {
    await database.pool.query("create table if not exists commit_probe (note text check (note <> 'bad'))");
    const write = (notes: string[]) =>
      transaction(
        database.pool,
        (client) =>
          together(notes.map((note) => client.query("insert into commit_probe values ($1)", [note]))),
        { commitWithWork: true },
      );
    await write(["one", "two"]);
    await expect(write(["three", "bad", "four"])).rejects.toMatchObject({ code: "23514" });
    const { rows } = await database.pool.query("select note from commit_probe order by note");
    expect(rows.map((row) => row.note)).toEqual(["one", "two"]);
  });
});

describe("prepared statements", () => {
  const preparedAfterTwoHolds = (preparedStatements?: boolean) =>
    preparedStatementsAfter({ url: database.url, preparedStatements }, async (pool) => {
      const ledger = createLedger({ pool, holdTtlSeconds: 60 });
      const userId = `prepared-${preparedStatements}`;
      await ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents: 100 });
      for (const key of ["first", "second"]) {
        const held = await ledger.placeHold({ userId, amountCents: 10, idempotencyKey: `${userId}:${key}` });
        expect(held.error).toBeNull();
      }
    });

  it("prepares the ledger's statements once per connection by default", async () => {
    expect(await preparedAfterTwoHolds()).toContain("ledger_place_hold");
  });

  it("sends them unnamed when a transaction-mode pooler cannot keep them", async () => {
    expect(await preparedAfterTwoHolds(false)).toEqual([]);
  });
});
