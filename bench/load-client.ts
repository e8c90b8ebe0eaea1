import { readdirSync, readFileSync } from "node:fs";
import { Agent, request } from "node:http";

/** One chat to send: where, with which body and headers; `check` says whether the answer is whole. */
export type ChatCall = {
  url: string;
  body: string;
  headers: Record<string, string>;
  check?: (text: string) => boolean;
};

export type LoadResult = { chats: number; seconds: number; latenciesMs: number[] };

/**
 * Sends `call` over `agent`'s kept-alive connections and reads the whole streamed answer, as a
 * browser does. node:http rather than fetch: the load generator shares two cores with the servers it
 * measures, and undici's streams cost several times more per chunk.
 */
export function sendChat(agent: Agent, call: ChatCall): Promise<void> {
  return new Promise((resolve, reject) => {
    const target = new URL(call.url);
    const outgoing = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(call.body)),
          ...call.headers,
        },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (piece: string) => {
          text += piece;
        });
        response.on("error", reject);
        response.on("end", () => {
          if (response.statusCode !== 200)
            reject(new Error(`${call.url} answered ${response.statusCode}: ${text}`));
          else if (call.check && !call.check(text))
            reject(new Error(`${call.url} answered in part: ${text}`));
          else resolve();
        });
      },
    );
    outgoing.on("error", reject);
    outgoing.end(call.body);
  });
}

/**
 * `clients` concurrent clients, each sending `chatsEach` chats one after another. With `staggerMs`, the
 * clients' first chats start spread evenly over that time instead of all at once: clients whose
 * answers all take about as long otherwise move in lockstep, and every wave of them arrives together.
 */
export async function runClients(input: {
  agent: Agent;
  clients: number;
  chatsEach: number;
  next: (client: number, chat: number) => ChatCall;
  staggerMs?: number;
}): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  const startedMs = performance.now();
  const staggerMs = input.staggerMs ?? 0;
  await Promise.all(
    Array.from({ length: input.clients }, async (_, client) => {
      if (staggerMs > 0)
        await new Promise((resolve) => setTimeout(resolve, (client * staggerMs) / input.clients));
      for (let chat = 0; chat < input.chatsEach; chat++) {
        const call = input.next(client, chat);
        const beganMs = performance.now();
        await sendChat(input.agent, call);
        latenciesMs.push(performance.now() - beganMs);
      }
    }),
  );
  return {
    chats: input.clients * input.chatsEach,
    seconds: (performance.now() - startedMs) / 1000,
    latenciesMs,
  };
}

/** One case of a round: its load, the CPU its server used meanwhile, and the load generator's own. */
export type CaseResult = LoadResult & {
  cpuSeconds: number;
  clientCpuSeconds: number;
  /** Every process of the machine (servers, PostgreSQL, the clients): what the case cost the two cores. */
  machineCpuSeconds: number;
  postgresCpuSeconds: number;
};

/**
 * `runClients` against the server of process `pid`, on connections of its own. Fresh connections per
 * case: a kept-alive one left idle while other cases ran may be closed by its server (5 s keep-alive
 * timeout) just as it is reused, failing with ECONNRESET.
 */
export async function measureCase(input: {
  pid: number;
  clients: number;
  chatsEach: number;
  next: (client: number, chat: number) => ChatCall;
  staggerMs?: number;
}): Promise<CaseResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: input.clients });
  const cpuBefore = cpuSecondsOf(input.pid);
  const clientCpuBefore = process.cpuUsage();
  const machineCpuBefore = machineCpuSeconds();
  const postgresCpuBefore = postgresCpuSeconds();
  try {
    const result = await runClients({
      agent,
      clients: input.clients,
      chatsEach: input.chatsEach,
      next: input.next,
      staggerMs: input.staggerMs,
    });
    const clientCpu = process.cpuUsage(clientCpuBefore);
    return {
      ...result,
      cpuSeconds: cpuSecondsOf(input.pid) - cpuBefore,
      clientCpuSeconds: (clientCpu.user + clientCpu.system) / 1e6,
      machineCpuSeconds: machineCpuSeconds() - machineCpuBefore,
      postgresCpuSeconds: postgresCpuSeconds() - postgresCpuBefore,
    };
  } finally {
    agent.destroy();
  }
}

/** A case's results summed over its rounds. */
export type Totals = {
  latenciesMs: number[];
  chats: number;
  seconds: number;
  cpuSeconds: number;
  clientCpuSeconds: number;
  machineCpuSeconds: number;
  postgresCpuSeconds: number;
  /** Server CPU per chat in each round: the spread says how far a difference stands above noise. */
  cpuMsPerChatByRound: number[];
};

export function emptyTotals(): Totals {
  return {
    latenciesMs: [],
    chats: 0,
    seconds: 0,
    cpuSeconds: 0,
    clientCpuSeconds: 0,
    machineCpuSeconds: 0,
    postgresCpuSeconds: 0,
    cpuMsPerChatByRound: [],
  };
}

export function addRound(totals: Totals, result: CaseResult): void {
  totals.latenciesMs.push(...result.latenciesMs);
  totals.chats += result.chats;
  totals.seconds += result.seconds;
  totals.cpuSeconds += result.cpuSeconds;
  totals.clientCpuSeconds += result.clientCpuSeconds;
  totals.machineCpuSeconds += result.machineCpuSeconds;
  totals.postgresCpuSeconds += result.postgresCpuSeconds;
  totals.cpuMsPerChatByRound.push(round2((result.cpuSeconds * 1000) / result.chats));
}

export const round2 = (value: number) => Math.round(value * 100) / 100;

const clockTicksPerSecond = 100;

/** CPU seconds (user + system) the process has used so far, from /proc. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

/** CPU seconds every core of the machine has been busy (not idle, not waiting on I/O) so far, from /proc/stat. */
export function machineCpuSeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) /
    clockTicksPerSecond
  );
}

/**
 * CPU seconds every PostgreSQL process alive now has used (its backends live as long as the pools'
 * connections, so a difference over a case is what PostgreSQL spent on it), from /proc.
 */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (!stat.includes("(postgres)")) continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
    } catch {
      // Gone between the listing and the read.
    }
  }
  return total;
}

/** Resident memory of the process now, in MB, from /proc. */
export function rssMbOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kilobytes = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kilobytes / 1024);
}

export function percentile(samples: number[], fraction: number): number {
  const sorted = [...samples].sort((left, right) => left - right);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return Math.round((sorted[index] ?? Number.NaN) * 10) / 10;
}
