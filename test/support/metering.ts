import { type ServerType, serve } from "@hono/node-server";
import { freePort } from "../../src/db/embedded.js";
import type { Pool } from "../../src/db/pool.js";
import { findPersonalKeyCounted, type UsablePersonalKey } from "../../src/gateway/personal-keys.js";
import { createServiceKey } from "../../src/metering/keys.js";
import { createTestApp, type TestApp } from "./app.js";

export type MeteringServer = {
  test: TestApp;
  url: string;
  /** A live service key's secret. */
  secret: string;
  /** Calls `path` over real HTTP with the service key (or `secret: null` for none). */
  call: (
    method: string,
    path: string,
    options?: {
      body?: unknown;
      idempotencyKey?: string;
      secret?: string | null;
      headers?: Record<string, string>;
    },
    // biome-ignore lint/suspicious/noExplicitAny: each test asserts the shape of the answer it reads.
  ) => Promise<{ status: number; body: any; headers: Headers }>;
  close: () => Promise<void>;
};

/**
 * The whole app listening on a free port with one service key, for the metering API's suites.
 *
 * @example
 * const metering = await startMeteringServer({ NEW_USER_CREDITS_CENTS: "50" });
 * const { status } = await metering.call("PUT", "/v1/customers/u1", { body: { email: "a@example.com" } });
 */
export async function startMeteringServer(environment: Record<string, string> = {}): Promise<MeteringServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const test = await createTestApp({ PORT: String(port), APP_URL: url, ...environment });
  const server: ServerType = serve({ fetch: test.app.fetch, port, hostname: "127.0.0.1" });
  const { secret } = await createServiceKey(test.database.pool, { name: "test app", production: false });

  const call: MeteringServer["call"] = async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.secret === undefined ? secret : options.secret;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    if (options.idempotencyKey !== undefined) headers["idempotency-key"] = options.idempotencyKey;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  };

  const close = async () => {
    await new Promise((done) => server.close(done));
    await test.close();
  };
  return { test, url, secret, call, close };
}

/**
 * The live personal key whose secret this is, as the gateway's lookup finds (and marks used) it; null
 * for anything else. Each lookup counts as one gateway call of the key, under a limit it cannot reach.
 */
export async function usablePersonalKey(pool: Pool, secret: string): Promise<UsablePersonalKey | null> {
  const found = await findPersonalKeyCounted(pool, secret, {
    action: "gateway",
    max: 1_000_000_000,
    windowSeconds: 60,
  });
  return found?.key ?? null;
}
