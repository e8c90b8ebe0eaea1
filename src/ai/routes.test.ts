import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  testConfig,
  userWithBalance,
} from "../../test/support/chat.js";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

// Prices high enough that token counts move whole cents: 10,000 USD per million tokens is 1 cent
// per token before the markup of 4, so the charge shows exactly which counts were used.
const centPerToken = { inputPerMillion: 10_000, outputPerMillion: 10_000 };

function setup(options: Parameters<typeof mockModel>[0] = {}) {
  const { model, mock } = mockModel({ price: centPerToken, ...options });
  return { ...chatApp({ pool: database.pool, model }), mock };
}

describe("POST /api/chat with a mock model", () => {
  it("streams the answer and charges the provider's usage, telling the client the charge and balance", async () => {
    const { app, ledger } = setup({ usage: { input: 10, output: 5 } });
    const user = await userWithBalance(ledger, newId("normal"), 100_000);
    const response = await postChat(
      app,
      user.id,
      chatBody({ chatId: newId("c"), messageId: newId("m"), text: "Capital of France?" }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const chunks = await readChunks(response);
    expect(answerText(chunks)).toBe("Paris is the capital.");
    // (10 + 5) tokens × 1 cent × markup 4.
    expect(finishMetadata(chunks)).toMatchObject({
      model: "mock:model",
      chargedCents: 60,
      balanceCents: 99_940,
    });
    const state = await ledgerState(database.pool, user.id);
    expect(state).toEqual({
      balanceCents: 99_940,
      heldCents: 0,
      entriesCents: 99_940,
      openHolds: 0,
      usageEntries: 1,
    });
    const entries = await ledger.listEntries({ userId: user.id });
    expect(entries.data?.entries[0]).toMatchObject({ kind: "usage", amountCents: -60 });
    expect(entries.data?.entries[0]?.description).toContain("mock:model: 10 input + 5 output tokens");
  });

  it("refuses with 402 and the amounts before calling the model when the hold cannot be placed", async () => {
    const { app, ledger, mock, config } = setup();
    const user = await userWithBalance(ledger, newId("poor"), 3);
    // A conversation of earlier, richer days: the refused question must not join it.
    const chatId = newId("c");
    await database.pool.query(
      "insert into chat.conversations (user_id, id, title, model) values ($1, $2, 'Earlier', 'mock:model')",
      [user.id, chatId],
    );
    const response = await postChat(app, user.id, chatBody({ chatId, messageId: newId("m"), text: "Hi" }));
    expect(response.status).toBe(402);
    const body = await response.json();
    expect(body.error.code).toBe("INSUFFICIENT_CREDITS");
    expect(body.error.availableCents).toBe(3);
    expect(body.error.neededCents).toBeGreaterThanOrEqual(config.maxOutputTokens * 4);
    expect(mock.doStreamCalls).toHaveLength(0);
    expect(await ledgerState(database.pool, user.id)).toMatchObject({
      balanceCents: 3,
      openHolds: 0,
      usageEntries: 0,
    });
    // Nothing of the refused chat was kept: no question, no attempt.
    const kept = await database.pool.query(
      "select count(*)::int as messages from chat.messages where user_id = $1",
      [user.id],
    );
    expect(kept.rows[0]).toEqual({ messages: 0 });
  });

  it("charges a retried message id once and replays the saved answer", async () => {
    const { app, ledger, mock } = setup({ usage: { input: 1, output: 1 } });
    const user = await userWithBalance(ledger, newId("retry"), 100_000);
    const body = chatBody({ chatId: newId("c"), messageId: newId("m"), text: "Once" });
    const first = await readChunks(await postChat(app, user.id, body));
    const second = await readChunks(await postChat(app, user.id, body));
    expect(answerText(second)).toBe(answerText(first));
    expect(finishMetadata(second)).toMatchObject({ replayed: true, chargedCents: 0, balanceCents: 99_992 });
    expect(second.find((chunk) => chunk.type === "start")?.messageId).toBe(
      first.find((chunk) => chunk.type === "start")?.messageId,
    );
    expect(mock.doStreamCalls).toHaveLength(1);
    expect(await ledgerState(database.pool, user.id)).toMatchObject({
      balanceCents: 99_992,
      usageEntries: 1,
    });
  });

  it("charges again when the client asks to regenerate the answer", async () => {
    const { app, ledger, mock } = setup({ usage: { input: 1, output: 1 } });
    const user = await userWithBalance(ledger, newId("regen"), 100_000);
    const body = chatBody({ chatId: newId("c"), messageId: newId("m"), text: "Again" });
    await readChunks(await postChat(app, user.id, body));
    const again = await readChunks(await postChat(app, user.id, { ...body, trigger: "regenerate-message" }));
    expect(finishMetadata(again)).toMatchObject({ chargedCents: 8, balanceCents: 99_984 });
    expect(mock.doStreamCalls).toHaveLength(2);
    expect(await ledgerState(database.pool, user.id)).toMatchObject({ usageEntries: 2, openHolds: 0 });
  });

  it("answers 409 while the same message is being answered, and retries once that answer's process died", async () => {
    const { app, ledger, mock, config } = setup({ usage: { input: 1, output: 1 } });
    const user = await userWithBalance(ledger, newId("crash"), 100_000);
    const body = chatBody({ chatId: newId("c"), messageId: newId("m"), text: "Still there?" });
    await readChunks(await postChat(app, user.id, body));
    // As if this answer were still streaming in another process.
    await database.pool.query(
      "update chat.messages set status = 'streaming' where user_id = $1 and role = 'assistant'",
      [user.id],
    );
    const busy = await postChat(app, user.id, body);
    expect(busy.status).toBe(409);
    expect((await busy.json()).error.code).toBe("CHAT_IN_PROGRESS");
    // That process died: once a hold's lifetime has passed, the message is answered again.
    await database.pool.query(
      "update chat.messages set updated_at = now() - make_interval(secs => $2) where user_id = $1 and role = 'assistant'",
      [user.id, config.holdTtlSeconds + 1],
    );
    const retried = await readChunks(await postChat(app, user.id, body));
    expect(finishMetadata(retried)).toMatchObject({ chargedCents: 8 });
    expect(mock.doStreamCalls).toHaveLength(2);
    expect(await ledgerState(database.pool, user.id)).toMatchObject({ usageEntries: 2, openHolds: 0 });
  });

  it("releases the hold and charges nothing when the provider fails before any output", async () => {
    const { app, ledger } = setup({ fail: true });
    const user = await userWithBalance(ledger, newId("fail"), 100_000);
    const chunks = await readChunks(
      await postChat(app, user.id, chatBody({ chatId: newId("c"), messageId: newId("m"), text: "Hello?" })),
    );
    const error = chunks.find((chunk) => chunk.type === "error");
    expect(error?.errorText).toContain("nothing was charged");
    expect(finishMetadata(chunks)).toMatchObject({ chargedCents: 0, balanceCents: 100_000 });
    expect(await ledgerState(database.pool, user.id)).toEqual({
      balanceCents: 100_000,
      heldCents: 0,
      entriesCents: 100_000,
      openHolds: 0,
      usageEntries: 0,
    });
  });

  it("charges what was generated when the provider fails mid-answer", async () => {
    const { app, ledger } = setup({ words: ["one", " two", " three"], failAfterWords: 2 });
    const user = await userWithBalance(ledger, newId("midway"), 100_000);
    const chunks = await readChunks(
      await postChat(app, user.id, chatBody({ chatId: newId("c"), messageId: newId("m"), text: "Count" })),
    );
    expect(answerText(chunks)).toBe("one two");
    expect(chunks.find((chunk) => chunk.type === "error")?.errorText).toContain("only the part you received");
    // 7 counted prompt tokens and the 2 tokens of "one two", × 4.
    expect(finishMetadata(chunks)).toMatchObject({ interrupted: true, outputTokens: 2, chargedCents: 36 });
    expect(await ledgerState(database.pool, user.id)).toMatchObject({ balanceCents: 99_964, openHolds: 0 });
  });

  it("charges on counted tokens when the provider reports no usage", async () => {
    const { app, ledger } = setup({ usage: null, words: ["one", " two", " three"] });
    const user = await userWithBalance(ledger, newId("nousage"), 100_000);
    const chunks = await readChunks(
      await postChat(app, user.id, chatBody({ chatId: newId("c"), messageId: newId("m"), text: "Count" })),
    );
    const metadata = finishMetadata(chunks);
    // The prompt counted before the call (7 tokens) and the 3 tokens of "one two three".
    expect(metadata).toMatchObject({ inputTokens: 7, outputTokens: 3, chargedCents: 40 });
    expect(await ledgerState(database.pool, user.id)).toMatchObject({ balanceCents: 99_960, openHolds: 0 });
  });

  it("refuses a conversation whose last message is not the user's", async () => {
    const { app, ledger } = setup();
    const user = await userWithBalance(ledger, newId("bad"), 100);
    const body = chatBody({ chatId: newId("c"), messageId: newId("m"), text: "x" });
    body.messages[0] = { ...body.messages[0], role: "assistant" } as (typeof body.messages)[0];
    const response = await postChat(app, user.id, body);
    expect(response.status).toBe(400);
    expect((await postChat(app, user.id, { messages: "no" })).status).toBe(400);
    const huge = chatBody({ chatId: newId("c"), messageId: newId("m"), text: "x".repeat(3 * 1024 * 1024) });
    expect((await postChat(app, user.id, huge)).status).toBe(413);
  });
});

describe("how long a chat may be", () => {
  const limits = { CHAT_MAX_MESSAGE_CHARS: "1000", CHAT_MAX_PROMPT_CHARS: "3000" };

  function limited() {
    const { model, mock } = mockModel({ price: centPerToken, usage: { input: 1, output: 1 } });
    return { ...chatApp({ pool: database.pool, model, config: testConfig(limits) }), mock };
  }

  it("refuses a question longer than CHAT_MAX_MESSAGE_CHARS with 400, naming the limit and the setting", async () => {
    const { app, ledger, mock } = limited();
    const user = await userWithBalance(ledger, newId("long"), 100_000);
    const body = chatBody({ chatId: newId("c"), messageId: newId("m"), text: "a".repeat(1_001) });
    const response = await postChat(app, user.id, body);
    expect(response.status).toBe(400);
    const { error } = await response.json();
    expect(error).toMatchObject({ code: "MESSAGE_TOO_LONG", limitChars: 1_000 });
    expect(error.message).toContain("1000 (CHAT_MAX_MESSAGE_CHARS)");
    // Split over parts, the question is just as long.
    body.messages[0] = {
      ...body.messages[0],
      parts: [
        { type: "text", text: "a".repeat(600) },
        { type: "text", text: "b".repeat(401) },
      ],
    } as (typeof body.messages)[0];
    expect((await (await postChat(app, user.id, body)).json()).error.code).toBe("MESSAGE_TOO_LONG");
    expect(mock.doStreamCalls).toHaveLength(0);
    expect(await ledgerState(database.pool, user.id)).toMatchObject({ balanceCents: 100_000, openHolds: 0 });
  });

  it("refuses a conversation longer than CHAT_MAX_PROMPT_CHARS with 413 PAYLOAD_TOO_LARGE, naming both", async () => {
    const { app, ledger, mock } = limited();
    const user = await userWithBalance(ledger, newId("history"), 100_000);
    const history = [
      { id: newId("h"), role: "user" as const, text: "q".repeat(1_000) },
      // The model's own answers may be longer than a question may; they count toward the whole.
      { id: newId("h"), role: "assistant" as const, text: "a".repeat(1_500) },
    ];
    const atLimit = chatBody({ chatId: newId("c"), messageId: newId("m"), text: "x".repeat(500), history });
    const accepted = await postChat(app, user.id, atLimit);
    expect(accepted.status).toBe(200);
    await accepted.text();
    const over = chatBody({ chatId: newId("c"), messageId: newId("m"), text: "x".repeat(501), history });
    const response = await postChat(app, user.id, over);
    expect(response.status).toBe(413);
    const { error } = await response.json();
    expect(error).toMatchObject({ code: "PAYLOAD_TOO_LARGE", limitChars: 3_000 });
    expect(error.message).toContain("3001 characters");
    expect(error.message).toContain("3000 (CHAT_MAX_PROMPT_CHARS)");
    expect(mock.doStreamCalls).toHaveLength(1);
  });

  it("sizes the body limit from CHAT_MAX_PROMPT_CHARS: 4 bytes a character and room for the rest", async () => {
    const { app, ledger } = limited();
    const user = await userWithBalance(ledger, newId("bytes"), 100_000);
    // A conversation at the character limit in three-byte characters fits the body limit.
    const history = [
      { id: newId("h"), role: "user" as const, text: "東".repeat(1_000) },
      { id: newId("h"), role: "assistant" as const, text: "京".repeat(1_000) },
    ];
    const wide = chatBody({ chatId: newId("c"), messageId: newId("m"), text: "都".repeat(1_000), history });
    const accepted = await postChat(app, user.id, wide);
    expect(accepted.status).toBe(200);
    await accepted.text();
    const huge = chatBody({ chatId: newId("c"), messageId: newId("m"), text: "x".repeat(300_000) });
    const response = await postChat(app, user.id, huge);
    expect(response.status).toBe(413);
    const { error } = await response.json();
    expect(error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(error.limitBytes).toBe(3_000 * 4 + 256 * 1024);
  });
});

describe("a message id sent again", () => {
  it("with other words answers 409 IDEMPOTENCY_KEY_REUSED and charges nothing; with the same words replays", async () => {
    const { app, ledger, mock } = setup({ usage: { input: 1, output: 1 } });
    const user = await userWithBalance(ledger, newId("reuse"), 100_000);
    const chatId = newId("c");
    const messageId = newId("m");
    const first = await readChunks(
      await postChat(app, user.id, chatBody({ chatId, messageId, text: "Paris?" })),
    );
    for (const body of [
      chatBody({ chatId, messageId, text: "Rome?" }),
      chatBody({ chatId, messageId, text: "Rome?", trigger: "regenerate-message" }),
      // Another conversation does not make the id new: answers are the user's, keyed by message id.
      chatBody({ chatId: newId("c"), messageId, text: "Rome?" }),
    ]) {
      const response = await postChat(app, user.id, body);
      expect(response.status).toBe(409);
      const { error } = await response.json();
      expect(error.code).toBe("IDEMPOTENCY_KEY_REUSED");
      expect(error.message).toContain("new message id");
    }
    // The same words with another history are the same question: the saved answer, for free.
    const history = [{ id: newId("h"), role: "user" as const, text: "Earlier" }];
    const again = await readChunks(
      await postChat(app, user.id, chatBody({ chatId, messageId, text: "Paris?", history })),
    );
    expect(answerText(again)).toBe(answerText(first));
    expect(finishMetadata(again)).toMatchObject({ replayed: true, chargedCents: 0 });
    expect(mock.doStreamCalls).toHaveLength(1);
    expect(await ledgerState(database.pool, user.id)).toMatchObject({
      balanceCents: 99_992,
      openHolds: 0,
      usageEntries: 1,
    });
    const saved = await database.pool.query(
      "select parts from chat.messages where user_id = $1 and role = 'user'",
      [user.id],
    );
    expect(saved.rows).toEqual([{ parts: [{ type: "text", text: "Paris?" }] }]);
  });
});

describe("saved conversations", () => {
  it("lists a user's conversations and reopens one with its question and answer", async () => {
    const { app, ledger } = setup();
    const user = await userWithBalance(ledger, newId("saver"), 100_000);
    const chatId = newId("chat");
    const messageId = newId("m");
    await readChunks(
      await postChat(app, user.id, chatBody({ chatId, messageId, text: "Capital of France?" })),
    );
    const list = await app.request("/api/conversations", { headers: { "x-test-user": user.id } });
    expect((await list.json()).conversations).toMatchObject([{ id: chatId, title: "Capital of France?" }]);
    const opened = await app.request(`/api/conversations/${chatId}`, { headers: { "x-test-user": user.id } });
    const { messages } = await opened.json();
    expect(
      messages.map((message: { role: string; parts: { text: string }[] }) => [
        message.role,
        message.parts[0]?.text,
      ]),
    ).toEqual([
      ["user", "Capital of France?"],
      ["assistant", "Paris is the capital."],
    ]);
    expect(messages[1].metadata).toMatchObject({ chargedCents: expect.any(Number) });
  });

  it("never shows one user's conversation to another", async () => {
    const { app, ledger } = setup();
    const owner = await userWithBalance(ledger, newId("owner"), 100_000);
    const other = await userWithBalance(ledger, newId("other"), 100_000);
    const chatId = newId("private");
    await readChunks(
      await postChat(app, owner.id, chatBody({ chatId, messageId: newId("m"), text: "Secret" })),
    );
    const list = await app.request("/api/conversations", { headers: { "x-test-user": other.id } });
    expect((await list.json()).conversations).toEqual([]);
    const opened = await app.request(`/api/conversations/${chatId}`, {
      headers: { "x-test-user": other.id },
    });
    expect(opened.status).toBe(404);
  });
});

describe("GET /api/chat/model", () => {
  it("tells the UI the model, whether it is the demo, and what an answer may cost", async () => {
    const { app } = chatApp({ pool: database.pool });
    const response = await app.request("/api/chat/model", { headers: { "x-test-user": "anyone" } });
    expect(await response.json()).toEqual({
      model: "demo",
      isDemo: true,
      priceInputPerMillionUsd: 0.1,
      priceOutputPerMillionUsd: 0.4,
      creditMarkup: 4,
      maxOutputTokens: 1024,
      maxCentsPerAnswer: 1,
      maxMessageChars: 32_000,
      maxPromptChars: 200_000,
    });
  });
});
