import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EmbeddedDatabase, freePort, startEmbeddedPostgres } from "../../src/db/embedded.js";
import { createLogger } from "../../src/logger.js";
import { createTestDatabase } from "./database.js";
import { type RunningServer, startServer } from "./process.js";

/**
 * The system under faults: one Coinslot server process and the PostgreSQL it uses, each of which the
 * fault history may kill or restart. PostgreSQL is an embedded server of this cluster's own (so
 * restarting it disturbs no other test file), or a database on TEST_DATABASE_URL, which this test
 * does not own and therefore never restarts.
 */
export type FaultCluster = {
  baseUrl: string;
  databaseUrl: string;
  /** False on TEST_DATABASE_URL: that server is shared, so it is never restarted. */
  canRestartPostgres: boolean;
  /** SIGKILL: no shutdown hook runs, whatever was in flight is cut where it stood. */
  killServer: () => Promise<void>;
  startServer: () => Promise<void>;
  /** False once the server process has exited, killed or on its own. */
  isRunning: () => boolean;
  /**
   * A fast shutdown (every connection terminated), down for `pauseMs`, then a start on the same
   * port and data.
   */
  restartPostgres: (pauseMs: number) => Promise<void>;
  /** The recent output of the server processes, killed ones included, for a failure message. */
  serverOutput: () => string;
  close: () => Promise<void>;
};

export type ClusterSettings = { webhookSecret: string; environment: Record<string, string> };

type Postgres = { url: string; restart?: (pauseMs: number) => Promise<void>; close: () => Promise<void> };

const postgresPassword = "coinslot-fault";

async function ownPostgres(directory: string): Promise<Postgres> {
  const port = await freePort();
  const options = {
    directory: join(directory, "postgres"),
    password: postgresPassword,
    preferredPort: port,
    logger: createLogger("silent"),
    // The folder dies with the run; a fast shutdown still writes everything before it stops.
    settings: { fsync: "off", full_page_writes: "off" },
  };
  let server: EmbeddedDatabase = await startEmbeddedPostgres(options);
  return {
    url: server.url,
    restart: async (pauseMs) => {
      await server.stop();
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      server = await startEmbeddedPostgres(options);
      // The server's DATABASE_URL names the port: a start elsewhere would look like an outage forever.
      if (server.port !== port) throw new Error(`PostgreSQL came back on port ${server.port}, not ${port}`);
    },
    close: () => server.stop(),
  };
}

async function sharedPostgres(): Promise<Postgres> {
  const database = await createTestDatabase({ migrated: false, poolSize: 1 });
  return { url: database.url, close: () => database.drop() };
}

export async function startFaultCluster(settings: ClusterSettings): Promise<FaultCluster> {
  const directory = await mkdtemp(join(tmpdir(), "coinslot-fault-"));
  const postgres = process.env.TEST_DATABASE_URL ? await sharedPostgres() : await ownPostgres(directory);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const environment = {
    PORT: String(port),
    APP_URL: baseUrl,
    DATABASE_URL: postgres.url,
    DATA_DIR: join(directory, "data"),
    AUTH_SECRET: "fault-history-auth-secret-of-enough-length",
    STRIPE_WEBHOOK_SECRET: settings.webhookSecret,
    LOG_LEVEL: "warn",
    ...settings.environment,
  };
  let server: RunningServer | undefined;
  // What the processes that have exited printed, so a failure shows the logs of killed ones too.
  let pastOutput = "";
  const start = async () => {
    const started = await startServer(environment);
    server = started;
    void started.exited.then((code) => {
      pastOutput = `${pastOutput}${started.output()}(exited: ${code ?? "killed"})\n`.slice(-60_000);
      if (server === started) server = undefined;
    });
  };
  const kill = async () => {
    const running = server;
    if (!running) return;
    server = undefined;
    running.child.kill("SIGKILL");
    await running.exited;
  };
  await start();
  return {
    baseUrl,
    databaseUrl: postgres.url,
    canRestartPostgres: postgres.restart !== undefined,
    killServer: kill,
    startServer: start,
    isRunning: () => server !== undefined,
    restartPostgres: async (pauseMs) => {
      if (!postgres.restart) throw new Error("this PostgreSQL is shared; it is never restarted");
      await postgres.restart(pauseMs);
    },
    serverOutput: () => `${pastOutput}${server?.output() ?? ""}`.slice(-60_000),
    close: async () => {
      const running = server;
      if (running) {
        running.child.kill("SIGTERM");
        await running.exited;
      }
      await postgres.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
