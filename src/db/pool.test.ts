import { createServer, type Socket } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  preparedStatementsAfter,
  type TestDatabase,
} from "../../test/support/database.js";
import { createLedger } from "../ledger/index.js";
import { freePort } from "./embedded.js";
import { isConnectionError, retryWithBackoff, together, transaction } from "./pool.js";

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

/** The error `attempt` rejects with. */
async function failureOf(attempt: () => Promise<unknown>): Promise<unknown> {
  try {
    await attempt();
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

describe("isConnectionError", () => {
  it("recognises a refused connection, a terminated backend and a pool's connect timeout", async () => {
    const refused = await failureOf(async () => {
      const client = new pg.Client({ connectionString: `postgres://nobody@127.0.0.1:${await freePort()}/x` });
      await client.connect();
    });
    expect(refused).toMatchObject({ code: "ECONNREFUSED" });

    const client = await database.pool.connect();
    client.on("error", () => undefined);
    const { rows } = await client.query<{ pid: number }>("select pg_backend_pid() as pid");
    await database.pool.query("select pg_terminate_backend($1)", [rows[0]?.pid]);
    const terminated = await failureOf(() => client.query("select 1"));
    client.release(true);

    // A server that accepts the connection and never answers, as an overloaded or half-dead one does.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address() as { port: number };
    const pool = new pg.Pool({
      connectionString: `postgres://nobody@127.0.0.1:${address.port}/x`,
      connectionTimeoutMillis: 100,
    });
    const timedOut = await failureOf(() => pool.connect());
    await pool.end();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));

    for (const error of [refused, terminated, timedOut]) expect(isConnectionError(error)).toBe(true);
  });

  it("recognises a server shutting down or starting up, and the 08 connection exceptions", () => {
    for (const code of ["57P01", "57P02", "57P03", "08000", "08003", "08006", "ECONNRESET"]) {
      expect(isConnectionError(conflict(code))).toBe(true);
    }
  });

  it("leaves alone what PostgreSQL refused, which would be refused again", async () => {
    const syntax = await failureOf(() => database.pool.query("selec 1"));
    const divided = await failureOf(() => database.pool.query("select 1 / 0"));
    // Deadlocks are the transaction's to run again, at once and a few times, not this backoff's.
    const others = [syntax, divided, conflict("40P01"), conflict("23505"), new Error("boom"), undefined];
    for (const error of others) expect(isConnectionError(error)).toBe(false);
  });
});

describe("retryWithBackoff", () => {
  const refused = () =>
    Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });

  it("tries again after connection errors and returns what the first success returns", async () => {
    const attempts: number[] = [];
    const value = await retryWithBackoff(
      async (attempt) => {
        attempts.push(attempt);
        if (attempt < 3) throw refused();
        return "settled";
      },
      { deadlineMs: Date.now() + 5_000, firstDelayMs: 5 },
    );
    expect({ attempts, value }).toEqual({ attempts: [1, 2, 3], value: "settled" });
  });

  it("throws any other error at once", async () => {
    let runs = 0;
    const failing = retryWithBackoff(
      async () => {
        runs += 1;
        throw conflict("23505");
      },
      { deadlineMs: Date.now() + 5_000, firstDelayMs: 5 },
    );
    await expect(failing).rejects.toMatchObject({ code: "23505" });
    expect(runs).toBe(1);
  });

  it("waits longer each time, up to the cap, with jitter, and starts nothing past the deadline", async () => {
    const startedAtMs: number[] = [];
    const delaysMs: number[] = [];
    const deadlineMs = Date.now() + 400;
    const failing = retryWithBackoff(
      async () => {
        startedAtMs.push(Date.now());
        throw refused();
      },
      {
        deadlineMs,
        firstDelayMs: 10,
        maxDelayMs: 80,
        onRetry: (_error, _attempt, delayMs) => delaysMs.push(delayMs),
      },
    );
    await expect(failing).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(Date.now()).toBeLessThan(deadlineMs + 50);
    expect(Math.max(...startedAtMs)).toBeLessThan(deadlineMs);
    expect(startedAtMs.length).toBeGreaterThanOrEqual(5);
    // Each wait lies between half its ceiling and the ceiling: 10, 20, 40, then 80 ms for good.
    for (const [index, delayMs] of delaysMs.entries()) {
      const ceilingMs = Math.min(80, 10 * 2 ** index);
      expect(delayMs).toBeGreaterThanOrEqual(ceilingMs / 2);
      expect(delayMs).toBeLessThanOrEqual(ceilingMs);
    }
  });
});
