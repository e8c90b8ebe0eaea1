import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { ensureWebBuild } from "../../scripts/web-build.js";
import { startEmbeddedPostgres } from "../../src/db/embedded.js";
import { createLogger } from "../../src/logger.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Superuser URL of the server the tests use; each test file creates its own database on it. */
    adminDatabaseUrl: string;
  }
}

/**
 * One real PostgreSQL for the whole run: TEST_DATABASE_URL when set, else an embedded server in a
 * temporary folder. Durability is traded for speed (fsync off) because the folder dies with the run.
 */
export default async function setup(project: TestProject) {
  // Built once here, before any file runs, so suites that serve the web app (or run `npm start`,
  // whose prestart builds when stale) never race two builds into dist/web.
  await ensureWebBuild();
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    project.provide("adminDatabaseUrl", given);
    return;
  }
  const directory = await mkdtemp(join(tmpdir(), "coinslot-test-"));
  const server = await startEmbeddedPostgres({
    directory: join(directory, "postgres"),
    password: "coinslot-test",
    preferredPort: 54339,
    logger: createLogger("warn"),
    databaseName: "postgres",
    settings: { fsync: "off", synchronous_commit: "off", full_page_writes: "off", max_connections: "400" },
  });
  project.provide("adminDatabaseUrl", server.url);
  return async () => {
    await server.stop();
    await rm(directory, { recursive: true, force: true });
  };
}
