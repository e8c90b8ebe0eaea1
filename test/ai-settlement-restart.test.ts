import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedDatabase, freePort, startEmbeddedPostgres } from "../src/db/embedded.js";
import { migrate } from "../src/db/migrate.js";
import { createPool, type Pool } from "../src/db/pool.js";
import { createLogger } from "../src/logger.js";
import {
  type Chunk,
  chatApp,
  chatBody,
  ledgerState,
  newId,
  postChat,
  testConfig,
  userWithBalance,
} from "./support/chat.js";
import { type FakeProvider, fakeAnswerWords, startFakeProvider } from "./support/fake-provider.js";

// A PostgreSQL of this file's own, restarted while a chat streams: the server every other test file
// shares must never go down under them.

const logger = createLogger("silent");
let directory: string;
let port: number;
let server: EmbeddedDatabase;
let pool: Pool;
let provider: FakeProvider;

const start = () =>
  startEmbeddedPostgres({
    directory: join(directory, "postgres"),
    password: "coinslot-restart",
    preferredPort: port,
    logger,
    settings: { fsync: "off", synchronous_commit: "off", full_page_writes: "off" },
  });

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "coinslot-restart-"));
  port = await freePort();
  [server, provider] = await Promise.all([start(), startFakeProvider()]);
  pool = createPool({ url: server.url, max: 5, logger });
  const migrated = await migrate(pool);
  if (migrated.error) throw migrated.error;
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await server?.stop();
  await provider?.close();
  await rm(directory, { recursive: true, force: true });
});

/** Reads the UI message stream in the background, chunk by chunk, as a browser would. */
function readAlong(response: Response) {
  const chunks: Chunk[] = [];
  const done = (async () => {
    const reader = response.body?.getReader();
    const decoder = new TextDecoder();
    let pending = "";
    for (let read = await reader?.read(); read && !read.done; read = await reader?.read()) {
      pending += decoder.decode(read.value, { stream: true });
      const events = pending.split("\n\n");
      pending = events.pop() ?? "";
      for (const event of events) {
        const data = event.replace(/^data: /, "").trim();
        if (data !== "" && data !== "[DONE]") chunks.push(JSON.parse(data));
      }
    }
  })();
  const count = (type: string) => chunks.filter((chunk) => chunk.type === type).length;
  return { chunks, done, count };
}

describe("a PostgreSQL restart while an answer streams", () => {
  it("still ends with the answer charged and saved, once the database is back", async () => {
    const config = testConfig({
      AI_MODEL: "compatible:slow-400",
      OPENAI_BASE_URL: `${provider.url}/v1`,
      AI_PRICE_INPUT_PER_MILLION: "10000",
      AI_PRICE_OUTPUT_PER_MILLION: "10000",
    });
    const { app, ledger } = chatApp({ pool, config });
    const user = await userWithBalance(ledger, newId("restart"), 100_000);
    const response = await postChat(
      app,
      user.id,
      chatBody({ chatId: newId("c"), messageId: newId("m"), text: "Capital of France?" }),
    );
    expect(response.status).toBe(200);
    const stream = readAlong(response);
    await expect.poll(() => stream.count("text-delta")).toBeGreaterThan(0);

    await server.stop();
    // Down before the answer ended: its settlement meets no database.
    expect(stream.count("text-end")).toBe(0);
    await expect.poll(() => stream.count("text-end"), { timeout: 5_000 }).toBe(1);
    // Settling fails while the database is down: no finish yet, and the stream stays open for it.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(stream.count("finish")).toBe(0);
    expect(stream.count("error")).toBe(0);

    server = await start();
    expect(server.port).toBe(port);
    await stream.done;

    expect(stream.chunks.filter((chunk) => chunk.type === "text-delta").map((chunk) => chunk.delta)).toEqual(
      fakeAnswerWords,
    );
    // (11 prompt + 6 completion tokens the provider reported) × 1 cent × the markup of 4.
    const finish = stream.chunks.find((chunk) => chunk.type === "finish");
    expect(finish?.messageMetadata).toMatchObject({ chargedCents: 68, balanceCents: 99_932 });
    expect(await ledgerState(pool, user.id)).toEqual({
      balanceCents: 99_932,
      heldCents: 0,
      entriesCents: 99_932,
      openHolds: 0,
      usageEntries: 1,
    });
    const saved = await pool.query(
      `select m.status, m.charged_cents, h.status as hold
         from chat.messages m, credits.holds h
        where m.user_id = $1 and m.role = 'assistant' and h.user_id = m.user_id`,
      [user.id],
    );
    expect(saved.rows).toEqual([{ status: "completed", charged_cents: 68, hold: "settled" }]);
  }, 30_000);
});
