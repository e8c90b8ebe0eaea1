import { type ChildProcess, spawn } from "node:child_process";
import pg from "pg";
import Stripe from "stripe";
import { freePort } from "../src/db/embedded.js";

/**
 * What the load benches (bench/chat-load.ts, bench/gateway.ts) share to meet Coinslot from outside, as
 * a user would: Coinslot started as `npm start` starts it, in its own process so its CPU is its own;
 * people who sign up and buy credits over HTTP; and the ledger's invariants checked afterwards.
 */
export type Running = { child: ChildProcess; pid: number; url: string; output: () => string };
export type Person = { cookie: string; userId: string };

const webhookSecret = "whsec_bench_chat_load";
const password = "bench password 0123";

/** Spawns `node <args>` and waits for its line matching `ready`, which gives its port. */
export function spawnNode(args: string[], env: Record<string, string>, ready: RegExp): Promise<Running> {
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

export function stop(running: Running): Promise<void> {
  if (running.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    running.child.once("exit", () => resolve());
    running.child.kill("SIGTERM");
  });
}

export type CoinslotOptions = {
  databaseUrl: string;
  /** The local OpenAI-compatible upstream, served as `AI_MODEL=compatible:bench`. */
  upstreamUrl: string;
  dataDir: string;
  extraEnv?: Record<string, string>;
};

/**
 * `src/main.ts` on a free port (again on another if something took the port in between), with
 * `BENCH_CPU_PROF=<dir>` under `node --cpu-prof`.
 */
export async function startCoinslot(options: CoinslotOptions): Promise<Running> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startCoinslotOn(await freePort(), options);
    } catch (error) {
      if (attempt >= 3 || !String(error).includes("EADDRINUSE")) throw error;
    }
  }
}

function startCoinslotOn(port: number, options: CoinslotOptions): Promise<Running> {
  const profileDir = process.env.BENCH_CPU_PROF;
  const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  return spawnNode(
    [...profile, "--import", "tsx", "src/main.ts"],
    {
      NODE_ENV: "development",
      LOG_LEVEL: "info",
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: options.dataDir,
      DATABASE_URL: options.databaseUrl,
      AUTH_SECRET: "bench-chat-load-secret-".padEnd(40, "x"),
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      AI_MODEL: "compatible:bench",
      OPENAI_BASE_URL: `${options.upstreamUrl}/v1`,
      AI_PRICE_INPUT_PER_MILLION: "0.1",
      AI_PRICE_OUTPUT_PER_MILLION: "0.4",
      AUTH_RATE_LIMIT_MAX: "1000000",
      CHECKOUT_RATE_LIMIT_MAX: "1000000",
      ...options.extraEnv,
    },
    /Coinslot is running at http:\/\/[^:]+:(\d+)/,
  );
}

/** Signs up over HTTP, then buys `cents` through Coinslot's checkout and Stripe's signed webhook. */
export async function openPerson(server: string, index: number, cents: number): Promise<Person> {
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

/**
 * Invariants after the load: balances equal their entries, no hold left open, and exactly
 * `expectedUsageEntries` usage entries (one per metered call served: every call charged, none twice).
 */
export async function checkLedger(databaseUrl: string, expectedUsageEntries: number) {
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
      holds: drift.rows[0].n === 0 && open.rows[0].n === 0 && usage.rows[0].n === expectedUsageEntries,
    };
  } finally {
    await client.end();
  }
}
