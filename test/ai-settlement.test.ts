import type { LanguageModelV3StreamPart } from "@ai-sdk/provider";
import { MockLanguageModelV3 } from "ai/test";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChatModel } from "../src/ai/models.js";
import { createPool } from "../src/db/pool.js";
import { createLogger } from "../src/logger.js";
import {
  answerText,
  chatApp,
  chatBody,
  finishMetadata,
  ledgerState,
  mockModel,
  newId,
  postChat,
  readChunks,
  userWithBalance,
} from "./support/chat.js";
import { createTestDatabase, preparedStatementsAfter, type TestDatabase } from "./support/database.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

const price = { inputPerMillion: 10_000, outputPerMillion: 10_000 };
const finish: LanguageModelV3StreamPart = {
  type: "finish",
  finishReason: { unified: "stop", raw: "stop" },
  usage: {
    inputTokens: { total: 5, noCache: 5, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: 2, text: 2, reasoning: 0 },
  },
};

/** A model that says its first word, then waits for `proceed` before finishing its answer. */
function pausingModel(proceed: Promise<void>): ChatModel {
  const languageModel = new MockLanguageModelV3({
    doStream: async () => ({
      stream: new ReadableStream<LanguageModelV3StreamPart>({
        async start(controller) {
          controller.enqueue({ type: "stream-start", warnings: [] });
          controller.enqueue({ type: "text-start", id: "t" });
          controller.enqueue({ type: "text-delta", id: "t", delta: "Late" });
          await proceed;
          controller.enqueue({ type: "text-delta", id: "t", delta: " answer" });
          controller.enqueue({ type: "text-end", id: "t" });
          controller.enqueue(finish);
          controller.close();
        },
      }),
    }),
  });
  return { id: "mock:pausing", isDemo: false, price, languageModel };
}

describe("settling a chat whose hold the ledger no longer has open", () => {
  it("charges nothing, says so to the client, and saves the answer as charged nothing", async () => {
    let proceed = () => {};
    const { app, ledger } = chatApp({
      pool: database.pool,
      model: pausingModel(new Promise((resolve) => (proceed = resolve))),
    });
    const user = await userWithBalance(ledger, newId("expired"), 100_000);
    const chatId = newId("c");
    const response = await postChat(app, user.id, chatBody({ chatId, messageId: newId("m"), text: "Hi" }));
    expect(response.status).toBe(200);
    // Something else resolved the hold while the model was still answering (as the sweeper does
    // when a stalled provider outlives the hold).
    const open = await database.pool.query<{ id: string }>(
      "select id from credits.holds where user_id = $1 and status = 'open'",
      [user.id],
    );
    expect(open.rows).toHaveLength(1);
    const released = await ledger.releaseHold({ holdId: String(open.rows[0]?.id) });
    expect(released.error).toBeNull();
    proceed();
    const chunks = await readChunks(response);
    expect(answerText(chunks)).toBe("Late answer");
    expect(finishMetadata(chunks)).toMatchObject({ chargedCents: 0 });
    expect(await ledgerState(database.pool, user.id)).toEqual({
      balanceCents: 100_000,
      heldCents: 0,
      entriesCents: 100_000,
      openHolds: 0,
      usageEntries: 0,
    });
    const saved = await database.pool.query(
      "select status, charged_cents, metadata from chat.messages where user_id = $1 and role = 'assistant'",
      [user.id],
    );
    expect(saved.rows).toEqual([
      { status: "completed", charged_cents: 0, metadata: expect.objectContaining({ chargedCents: 0 }) },
    ]);
  });
});

describe("a settlement whose COMMIT reached PostgreSQL but whose reply was lost", () => {
  it("is not tried again as if refused: the answer keeps the charge it committed", async () => {
    let loseNextCommitReply = false;
    // pg's documented `Client` option: the COMMIT is sent and carried out, then its connection
    // reads as dropped, as when the database goes away between committing and answering.
    class LosesCommitReplies extends pg.Client {
      constructor(config?: pg.ClientConfig) {
        super(config);
        const query = this.query.bind(this) as (...args: unknown[]) => Promise<unknown>;
        this.query = ((first: unknown, ...rest: unknown[]) => {
          const sent = query(first, ...rest);
          if (first !== "commit" || !loseNextCommitReply) return sent;
          loseNextCommitReply = false;
          return sent.then(() => {
            throw new Error("Connection terminated unexpectedly");
          });
        }) as unknown as pg.Client["query"];
      }
    }
    const pool = new pg.Pool({ connectionString: database.url, max: 2, Client: LosesCommitReplies });
    try {
      let proceed = () => {};
      const { app, ledger } = chatApp({
        pool,
        model: pausingModel(new Promise((resolve) => (proceed = resolve))),
      });
      const user = await userWithBalance(ledger, newId("lost-reply"), 100_000);
      const response = await postChat(
        app,
        user.id,
        chatBody({ chatId: newId("c"), messageId: newId("m"), text: "Hi" }),
      );
      expect(response.status).toBe(200);
      loseNextCommitReply = true;
      proceed();
      const chunks = await readChunks(response);
      expect(loseNextCommitReply).toBe(false);
      const state = await ledgerState(database.pool, user.id);
      expect(state).toMatchObject({ heldCents: 0, openHolds: 0, usageEntries: 1 });
      const chargedCents = 100_000 - state.balanceCents;
      expect(chargedCents).toBeGreaterThan(0);
      expect(finishMetadata(chunks)).toMatchObject({ chargedCents, balanceCents: state.balanceCents });
      const saved = await database.pool.query(
        "select status, charged_cents, metadata from chat.messages where user_id = $1 and role = 'assistant'",
        [user.id],
      );
      expect(saved.rows).toEqual([
        {
          status: "completed",
          charged_cents: chargedCents,
          metadata: expect.objectContaining({ chargedCents }),
        },
      ]);
    } finally {
      await pool.end();
    }
  });
});

describe("a client that left before the answer started", () => {
  it("never calls the model and is charged nothing", async () => {
    const { model, mock } = mockModel({ price });
    const { app, ledger } = chatApp({ pool: database.pool, model });
    const user = await userWithBalance(ledger, newId("left"), 100_000);
    const gone = new AbortController();
    gone.abort();
    const body = chatBody({ chatId: newId("c"), messageId: newId("m"), text: "Hello?" });
    const response = await postChat(app, user.id, body, gone.signal);
    expect(response.status).toBe(200);
    // Settlement runs whether or not anyone reads; wait for the hold to be resolved.
    await expect.poll(async () => (await ledgerState(database.pool, user.id)).openHolds).toBe(0);
    expect(await ledgerState(database.pool, user.id)).toMatchObject({
      balanceCents: 100_000,
      heldCents: 0,
      usageEntries: 0,
    });
    // The provider was never asked, so it bills nothing: the hold is released, not settled.
    expect(mock.doStreamCalls).toHaveLength(0);
    // Stopped before a word: nothing generated, so nothing saved as said.
    const saved = await database.pool.query(
      "select status, parts from chat.messages where user_id = $1 and role = 'assistant'",
      [user.id],
    );
    expect(saved.rows).toEqual([{ status: "failed", parts: [] }]);
  });
});

describe("a question whose hold exists without its attempt", () => {
  it("answers 409 and writes nothing: an attempt is only ever saved with a hold of its own", async () => {
    const { model, mock } = mockModel({ price });
    const { app, ledger } = chatApp({ pool: database.pool, model });
    const user = await userWithBalance(ledger, newId("orphan"), 100_000);
    const body = chatBody({ chatId: newId("c"), messageId: newId("m"), text: "Hello" });
    // As if attempt 0's row had gone (a deleted conversation, say) while its hold stayed.
    const held = await ledger.placeHold({
      userId: user.id,
      amountCents: 10,
      idempotencyKey: `chat:${user.id}:${body.messages[0]?.id}:0`,
    });
    expect(held.error).toBeNull();
    const response = await postChat(app, user.id, body);
    expect(response.status).toBe(409);
    expect(mock.doStreamCalls).toHaveLength(0);
    const kept = await database.pool.query(
      "select count(*)::int as messages from chat.messages where user_id = $1",
      [user.id],
    );
    expect(kept.rows[0]).toEqual({ messages: 0 });
  });
});

describe("two chats of one person in one conversation at once", () => {
  it("regenerating an answer while asking the next question never deadlocks", async () => {
    const deadlocks = async () =>
      (
        await database.pool.query<{ deadlocks: number }>(
          "select deadlocks::int from pg_stat_database where datname = current_database()",
        )
      ).rows[0]?.deadlocks ?? 0;
    const before = await deadlocks();
    // A pool of its own: its backends report their statistics when it ends, below.
    const pool = createPool({ url: database.url, max: 4, logger: createLogger("silent") });
    const { app, ledger } = chatApp({ pool, model: mockModel({ price }).model });
    const user = await userWithBalance(ledger, newId("both"), 1_000_000);
    for (let round = 0; round < 8; round++) {
      const chatId = newId("c");
      const first = chatBody({ chatId, messageId: newId("m"), text: "First question" });
      await readChunks(await postChat(app, user.id, first));
      const next = chatBody({
        chatId,
        messageId: newId("m"),
        text: "Next question",
        history: [{ id: first.messages[0]?.id ?? "", role: "user", text: "First question" }],
      });
      const both = await Promise.all([
        postChat(app, user.id, { ...first, trigger: "regenerate-message" }),
        postChat(app, user.id, next),
      ]);
      expect(both.map((response) => response.status)).toEqual([200, 200]);
      await Promise.all(both.map(readChunks));
    }
    await pool.end();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await deadlocks()).toBe(before);
    expect(await ledgerState(database.pool, user.id)).toMatchObject({ openHolds: 0, usageEntries: 24 });
  });
});

describe("chatting through a pool without prepared statements", () => {
  const preparedAfterChatting = (preparedStatements: boolean) =>
    preparedStatementsAfter({ url: database.url, preparedStatements }, async (pool) => {
      const { app, ledger } = chatApp({ pool });
      const user = await userWithBalance(ledger, newId(`prepared-${preparedStatements}`), 100_000);
      const body = chatBody({ chatId: newId("c"), messageId: newId("m"), text: "Hello there" });
      const first = await readChunks(await postChat(app, user.id, body));
      const replayed = await readChunks(await postChat(app, user.id, body));
      const regenerated = await readChunks(
        await postChat(app, user.id, { ...body, trigger: "regenerate-message" }),
      );
      expect(finishMetadata(first)?.chargedCents).toBeGreaterThan(0);
      expect(finishMetadata(replayed)).toMatchObject({ replayed: true, chargedCents: 0 });
      expect(finishMetadata(regenerated)?.chargedCents).toBeGreaterThan(0);
      expect(await ledgerState(pool, user.id)).toMatchObject({ openHolds: 0, usageEntries: 2 });
    });

  it("answers, replays and regenerates the same, preparing nothing", async () => {
    expect(await preparedAfterChatting(false)).toEqual([]);
  });

  it("prepares the chat's and the ledger's statements when allowed", async () => {
    expect(await preparedAfterChatting(true)).toEqual(
      expect.arrayContaining([
        "chat_save_question",
        "chat_start_answer",
        "ledger_place_hold",
        "ledger_settle_hold",
      ]),
    );
  });
});
