import { performance } from "node:perf_hooks";
import { health } from "./fault-client.js";
import type { FaultCluster } from "./fault-cluster.js";
import type { World } from "./fault-world.js";
import { between } from "./random.js";

/**
 * Kills the server with SIGKILL (then starts it again) and restarts PostgreSQL, in a seeded order,
 * one fault at a time, each aimed at a moment when some answer is streaming. Between faults the
 * system runs long enough to serve traffic again, so faults land on work, not on an empty outage.
 */

export type FaultLog = {
  /** When each SIGKILL was sent, on `performance.now()`'s clock. */
  killsAtMs: number[];
  postgresRestarts: number;
  /** From each fault's start until the server served again, for the report. */
  outages: { kind: "kill" | "postgres"; fromMs: number; toMs: number }[];
  /** Planned PostgreSQL restarts not done because the database is shared (TEST_DATABASE_URL). */
  postgresRestartsSkipped: number;
  /** The server process died without being killed (it must not), with its last output. */
  unexpectedExits: string[];
};

export type FaultPlan = { kills: number; postgresRestarts: number; deadlineMs: number };

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));
const serviceTimeoutMs = 30_000;
// A PostgreSQL restart strikes this long before some answer is expected to end, and keeps the
// database down longer than that, so the answer's settlement meets the outage.
const postgresAimMs = 600;

/** How long a whole answer has taken so far (the median), or undefined before any finished. */
function typicalAnswerMs(world: World): number | undefined {
  const durations = world.answers
    .filter((answer) => answer.finish && !answer.finish.replayed)
    .map((answer) => answer.endedAtMs - answer.startedAtMs)
    .sort((first, second) => first - second);
  return durations[Math.floor(durations.length / 2)];
}

/**
 * Waits (bounded) for the moment to strike: some answer has sent words and not finished, and has
 * streamed for at least `nearEndMs` less than a typical answer takes, so its end (and settlement)
 * falls into the outage that follows.
 */
async function midStream(world: World, input: { limitMs: number; nearEndMs?: number }): Promise<void> {
  const typicalMs = input.nearEndMs === undefined ? undefined : typicalAnswerMs(world);
  const minimumAgeMs = typicalMs === undefined ? 0 : typicalMs - (input.nearEndMs ?? 0);
  const until = performance.now() + input.limitMs;
  while (performance.now() < until) {
    const now = performance.now();
    const streaming = [...world.live].filter((answer) => answer.textReceived && !answer.finish);
    if (streaming.some((answer) => now - answer.startedAtMs >= minimumAgeMs)) return;
    await sleep(10);
  }
}

/** Until /healthz answers 200, restarting the server if it died on its own meanwhile. */
export async function untilServing(cluster: FaultCluster, log: FaultLog): Promise<void> {
  const until = performance.now() + serviceTimeoutMs;
  while (performance.now() < until) {
    if (!cluster.isRunning()) {
      log.unexpectedExits.push(cluster.serverOutput().slice(-2_000));
      await cluster.startServer().catch(() => undefined);
    }
    if ((await health(cluster.baseUrl)) === 200) return;
    await sleep(100);
  }
  throw new Error(`the server did not serve again within ${serviceTimeoutMs} ms:\n${cluster.serverOutput()}`);
}

async function killAndRestart(cluster: FaultCluster, log: FaultLog, random: () => number) {
  log.killsAtMs.push(performance.now());
  await cluster.killServer();
  await sleep(between(random, 0, 500));
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await cluster.startServer();
    } catch (error) {
      if (attempt >= 3) throw error;
      await sleep(500);
    }
  }
}

async function restartPostgres(cluster: FaultCluster, log: FaultLog, random: () => number) {
  if (!cluster.canRestartPostgres) {
    log.postgresRestartsSkipped += 1;
    return;
  }
  await cluster.restartPostgres(between(random, postgresAimMs + 400, 2_500));
  log.postgresRestarts += 1;
}

export async function injectFaults(input: {
  cluster: FaultCluster;
  world: World;
  random: () => number;
  plan: FaultPlan;
}): Promise<FaultLog> {
  const { cluster, world, random, plan } = input;
  const log: FaultLog = {
    killsAtMs: [],
    postgresRestarts: 0,
    outages: [],
    postgresRestartsSkipped: 0,
    unexpectedExits: [],
  };
  const faults = [
    ...Array.from({ length: plan.kills }, () => killAndRestart),
    ...Array.from({ length: plan.postgresRestarts }, () => restartPostgres),
  ];
  // A seeded shuffle (Fisher-Yates), so the order replays from the seed.
  for (let index = faults.length - 1; index > 0; index -= 1) {
    const other = between(random, 0, index);
    [faults[index], faults[other]] = [
      faults[other] as typeof killAndRestart,
      faults[index] as typeof killAndRestart,
    ];
  }
  // One of each kind first (which one leads is seeded too): a slow machine's deadline may cut the
  // plan short, but never down to kills alone or restarts alone.
  if (plan.kills > 0 && plan.postgresRestarts > 0) {
    const firstKill = faults.indexOf(killAndRestart);
    const firstRestart = faults.indexOf(restartPostgres);
    const leading = random() < 0.5 ? [firstKill, firstRestart] : [firstRestart, firstKill];
    const rest = faults.filter((_, index) => !leading.includes(index));
    faults.splice(
      0,
      faults.length,
      ...leading.map((index) => faults[index] as typeof killAndRestart),
      ...rest,
    );
  }
  for (const fault of faults) {
    if (performance.now() > plan.deadlineMs) break;
    await sleep(between(random, 600, 2_000));
    const isKill = fault === killAndRestart;
    await midStream(world, { limitMs: 2_500, ...(isKill ? {} : { nearEndMs: postgresAimMs }) });
    const fromMs = performance.now();
    await fault(cluster, log, random);
    await untilServing(cluster, log);
    const kind = isKill ? "kill" : "postgres";
    if (kind === "kill" || cluster.canRestartPostgres)
      log.outages.push({ kind, fromMs, toMs: performance.now() });
  }
  return log;
}
