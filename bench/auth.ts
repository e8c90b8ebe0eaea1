import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Config, loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/database.js";
import { migrate } from "../src/db/migrate.js";
import type { Pool } from "../src/db/pool.js";
import { createApp } from "../src/http/app.js";
import { createLedger } from "../src/ledger/index.js";
import { createLogger } from "../src/logger.js";

const password = "bench password 0123";

/**
 * What sign-in costs: the session gate (GET /api/me with a cookie: session lookup, account check,
 * RLS read) and a password sign-in, whose argon2id hash dominates by design.
 * Targets: gate p50 ≤ 5 ms; sign-in p50 ≤ 250 ms (slow enough to hurt guessing, fast enough for people).
 */
export async function benchAuth(input: { pool: Pool; config: Config; iterations?: number }) {
  const iterations = input.iterations ?? 200;
  const config = { ...input.config, authRateLimit: { max: 1_000_000, windowSeconds: 60 } };
  const ledger = createLedger({ pool: input.pool, holdTtlSeconds: config.holdTtlSeconds });
  const app = createApp({ config, pool: input.pool, logger: createLogger("silent"), ledger });
  const email = `bench-auth-${randomBytes(4).toString("hex")}@example.com`;
  const post = (path: string, body: unknown) =>
    app.request(path, {
      method: "POST",
      headers: { "content-type": "application/json", origin: new URL(config.appUrl).origin },
      body: JSON.stringify(body),
    });
  const signUp = await post("/api/auth/sign-up/email", { email, password, name: "bench" });
  if (signUp.status !== 200) throw new Error(`sign-up answered ${signUp.status}: ${await signUp.text()}`);
  const cookie = signUp.headers
    .getSetCookie()
    .map((value) => value.split(";")[0])
    .join("; ");

  const gateMs = await timed(iterations, async () => {
    const response = await app.request("/api/me", { headers: { cookie } });
    if (response.status !== 200) throw new Error(`/api/me answered ${response.status}`);
    await response.text();
  });
  const signInMs = await timed(Math.max(10, Math.floor(iterations / 10)), async () => {
    const response = await post("/api/auth/sign-in/email", { email, password });
    if (response.status !== 200) throw new Error(`sign-in answered ${response.status}`);
    await response.text();
  });
  return {
    name: "auth",
    iterations,
    gateMs,
    signInMs,
    targets: { gateP50Ms: 5, signInP50Ms: 250 },
    meetsTarget: gateMs.p50 <= 5 && signInMs.p50 <= 250,
  };
}

async function timed(iterations: number, work: () => Promise<void>) {
  const warmup = Math.min(20, iterations);
  const samples: number[] = [];
  for (let index = 0; index < warmup + iterations; index++) {
    const start = performance.now();
    await work();
    if (index >= warmup) samples.push(performance.now() - start);
  }
  samples.sort((left, right) => left - right);
  const at = (fraction: number) =>
    round(samples[Math.min(samples.length - 1, Math.floor(fraction * samples.length))] ?? 0);
  return { p50: at(0.5), p99: at(0.99) };
}

const round = (value: number) => Math.round(value * 100) / 100;

/** Alone: `npx tsx bench/auth.ts` on DATABASE_URL, or on a throwaway embedded PostgreSQL. */
async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), "coinslot-bench-auth-"));
  const config = loadConfig({
    ...process.env,
    DATA_DIR: process.env.DATABASE_URL ? undefined : dataDir,
    LOG_LEVEL: "silent",
  });
  const database = await openDatabase(config, createLogger("silent"));
  try {
    const migrated = await migrate(database.pool);
    if (migrated.error) throw migrated.error;
    process.stdout.write(`${JSON.stringify(await benchAuth({ pool: database.pool, config }))}\n`);
  } finally {
    await database.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
