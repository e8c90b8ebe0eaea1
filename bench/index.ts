import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.js";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { migrate } from "../src/db/migrate.js";
import { createPool, type Pool } from "../src/db/pool.js";
import { createLedger, createSpendBatcher } from "../src/ledger/index.js";
import { createLogger } from "../src/logger.js";
import { benchAuth } from "./auth.js";
import { benchChat } from "./chat.js";
import { benchChatLoad } from "./chat-load.js";
import { benchGateway } from "./gateway.js";
import { type Measurement, measure, type SpendCall } from "./measure.js";
import { benchMetering } from "./metering.js";
import { batchedSpend, moduleSpend, rawSpend } from "./paths.js";

// `npm run bench`: spends per second through the raw SQL baseline, the ledger module and the spend
// batcher, over many accounts and over one hot account, against one embedded PostgreSQL with its
// default (durable) settings and one pool size for all. JSON on stdout; progress on stderr.
// BENCH_OPERATIONS, BENCH_CALLERS, BENCH_POOL_SIZE and BENCH_FSYNC=off change the run. Then, on the
// same server, the metering overhead of a chat (bench/chat.ts) and the cost of sign-in (bench/auth.ts);
// then the metering API's /v1/usage and /v1/holds over real HTTP against a started server and the raw
// SQL baseline (bench/metering.ts); metered chat under load over real HTTP (bench/chat-load.ts); last,
// the OpenAI-compatible gateway under load against its upstream called bare (bench/gateway.ts).
const operations = Number(process.env.BENCH_OPERATIONS ?? 4_000);
const callers = Number(process.env.BENCH_CALLERS ?? 64);
const poolSize = Number(process.env.BENCH_POOL_SIZE ?? 16);
const accountCount = 1_000;
const durable = process.env.BENCH_FSYNC !== "off";

type Path = "raw" | "module" | "batched";
type Scenario = "manyAccounts" | "hotAccount";

async function seedAccounts(pool: Pool): Promise<string[]> {
  const ledger = createLedger({ pool, holdTtlSeconds: 300 });
  const userIds = Array.from({ length: accountCount }, (_, index) => `bench-${index}`);
  for (const userId of userIds) {
    await ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents: 100_000_000 });
  }
  return userIds;
}

function calls(
  scenario: Scenario,
  path: Path,
  round: number,
  userIds: string[],
): (index: number) => SpendCall {
  return (index) => ({
    userId:
      scenario === "hotAccount"
        ? (userIds[0] as string)
        : (userIds[(index * 7_919) % userIds.length] as string),
    amountCents: 1 + (index % 5),
    idempotencyKey: `${scenario}:${path}:${round}:${index}`,
  });
}

const ratio = (over: Measurement, under: Measurement) =>
  Math.round((over.perSecond / under.perSecond) * 100) / 100;

async function main(): Promise<void> {
  const logger = createLogger("warn");
  const directory = await mkdtemp(join(tmpdir(), "coinslot-bench-"));
  const settings: Record<string, string> = { max_connections: "200" };
  if (!durable) Object.assign(settings, { fsync: "off", synchronous_commit: "off", full_page_writes: "off" });
  const server = await startEmbeddedPostgres({
    directory: join(directory, "postgres"),
    password: "coinslot-bench",
    preferredPort: 54349,
    logger,
    settings,
  });
  // Stopping the server at the end ends pooled connections; that is expected, not worth a warning.
  const pool = createPool({ url: server.url, max: poolSize, logger: createLogger("silent") });
  try {
    const migrated = await migrate(pool);
    if (migrated.error) throw migrated.error;
    const userIds = await seedAccounts(pool);
    const ledger = createLedger({ pool, holdTtlSeconds: 300 });
    const batcher = createSpendBatcher({ pool, ledger });
    const spenders: Record<Path, (call: SpendCall) => Promise<boolean>> = {
      raw: rawSpend(pool),
      module: moduleSpend(ledger),
      batched: batchedSpend(batcher),
    };
    const results: Record<string, unknown> = {};
    for (const scenario of ["manyAccounts", "hotAccount"] as const) {
      const measured = {} as Record<Path, Measurement>;
      // Warm every path first, then measure them back to back so they share the machine's state.
      for (const path of ["raw", "module", "batched"] as const) {
        await measure({
          operations: 300,
          callers,
          next: calls(scenario, path, 0, userIds),
          spend: spenders[path],
        });
      }
      for (const path of ["raw", "module", "batched"] as const) {
        process.stderr.write(`bench: ${scenario} ${path}...\n`);
        measured[path] = await measure({
          operations,
          callers,
          next: calls(scenario, path, 1, userIds),
          spend: spenders[path],
        });
      }
      results[scenario] = {
        ...measured,
        moduleOverRaw: ratio(measured.module, measured.raw),
        batchedOverRaw: ratio(measured.batched, measured.raw),
      };
    }
    process.stderr.write("bench: chat metering and sign-in...\n");
    // Fixed secrets, so nothing is generated on disk; every other setting at its default.
    const config = loadConfig({
      AUTH_SECRET: "bench-secret-".padEnd(32, "x"),
      STRIPE_WEBHOOK_SECRET: "whsec_bench",
      DATA_DIR: directory,
      LOG_LEVEL: "silent",
    });
    const output = {
      settings: { operations, callers, poolSize, accounts: accountCount, durable, batcher: batcher.stats() },
      ...results,
      chat: await benchChat({ pool, config }),
      auth: await benchAuth({ pool, config }),
      meteringApi: await benchMetering(),
      chatUnderLoad: await benchChatLoad(),
      gatewayUnderLoad: await benchGateway(),
    };
    process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  } finally {
    await pool.end();
    await server.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
