import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveModel } from "../src/ai/models.js";
import {
  answerText,
  chatApp,
  chatBody,
  finishMetadata,
  ledgerState,
  newId,
  postChat,
  readChunks,
  testConfig,
  userWithBalance,
} from "./support/chat.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type FakeProvider, fakeAnswerWords, startFakeProvider } from "./support/fake-provider.js";

// The real provider packages (@ai-sdk/openai-compatible, @ai-sdk/google) over real HTTP against a
// local server that streams their wire formats, through the real chat route, ledger and database.

let database: TestDatabase;
let provider: FakeProvider;
beforeAll(async () => {
  [database, provider] = await Promise.all([createTestDatabase(), startFakeProvider()]);
});
afterAll(async () => {
  await provider.close();
  await database.drop();
});

// 1 cent per token before the markup of 4, so charges show exactly which token counts were used.
const prices = { AI_PRICE_INPUT_PER_MILLION: "10000", AI_PRICE_OUTPUT_PER_MILLION: "10000" };
const fullAnswer = fakeAnswerWords.join("");

function compatible(modelName: string) {
  const config = testConfig({
    AI_MODEL: `compatible:${modelName}`,
    OPENAI_BASE_URL: `${provider.url}/v1`,
    ...prices,
  });
  return chatApp({ pool: database.pool, config });
}

async function ask(app: ReturnType<typeof compatible>["app"], userId: string, text = "Capital of France?") {
  const response = await postChat(app, userId, chatBody({ chatId: newId("c"), messageId: newId("m"), text }));
  expect(response.status).toBe(200);
  return readChunks(response);
}

describe("an OpenAI-compatible provider", () => {
  it("streams the answer and charges the usage chunk the provider sent", async () => {
    const { app, ledger, config } = compatible("normal");
    const user = await userWithBalance(ledger, newId("normal"), 100_000);
    const chunks = await ask(app, user.id);
    expect(answerText(chunks)).toBe(fullAnswer);
    // (11 prompt + 6 completion tokens) × 1 cent × 4.
    expect(finishMetadata(chunks)).toMatchObject({
      chargedCents: 68,
      inputTokens: 11,
      outputTokens: 6,
      balanceCents: 99_932,
    });
    expect(await ledgerState(database.pool, user.id)).toEqual({
      balanceCents: 99_932,
      heldCents: 0,
      entriesCents: 99_932,
      openHolds: 0,
      usageEntries: 1,
    });
    // The model was told the output limit the hold was sized for, and asked for the usage chunk.
    const sent = provider.requests.at(-1)?.body;
    expect(sent).toMatchObject({
      model: "normal",
      max_tokens: config.maxOutputTokens,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("streams a slow answer to the end and charges it once", async () => {
    const { app, ledger } = compatible("slow");
    const user = await userWithBalance(ledger, newId("slow"), 100_000);
    const chunks = await ask(app, user.id);
    expect(answerText(chunks)).toBe(fullAnswer);
    expect(await ledgerState(database.pool, user.id)).toMatchObject({
      balanceCents: 99_932,
      openHolds: 0,
      usageEntries: 1,
    });
  });

  it("charges on counted tokens when the provider sends no usage chunk", async () => {
    const { app, ledger } = compatible("nousage");
    const user = await userWithBalance(ledger, newId("nousage"), 100_000);
    const chunks = await ask(app, user.id, "Count");
    // 7 prompt tokens counted before the call; "Paris is the capital of France." is 7 tokens.
    expect(finishMetadata(chunks)).toMatchObject({ inputTokens: 7, outputTokens: 7, chargedCents: 56 });
    expect(await ledgerState(database.pool, user.id)).toMatchObject({ balanceCents: 99_944, openHolds: 0 });
  });

  it("releases the hold and charges nothing when the provider answers 500", async () => {
    const { app, ledger } = compatible("fail500");
    const user = await userWithBalance(ledger, newId("fail"), 100_000);
    const before = provider.requests.length;
    const chunks = await ask(app, user.id);
    expect(chunks.find((chunk) => chunk.type === "error")?.errorText).toContain("nothing was charged");
    expect(finishMetadata(chunks)).toMatchObject({ chargedCents: 0, balanceCents: 100_000 });
    expect(await ledgerState(database.pool, user.id)).toEqual({
      balanceCents: 100_000,
      heldCents: 0,
      entriesCents: 100_000,
      openHolds: 0,
      usageEntries: 0,
    });
    // One retry of a failed start, no more.
    expect(provider.requests.length - before).toBe(2);
  });

  it("stops the provider and settles what was generated when the client disconnects mid-stream", async () => {
    const { app, ledger } = compatible("endless");
    const user = await userWithBalance(ledger, newId("gone"), 100_000);
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise((resolve) => server.once("listening", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const closedBefore = provider.closedEarly;
      const abort = new AbortController();
      const response = await fetch(`http://127.0.0.1:${port}/api/chat`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-test-user": user.id },
        body: JSON.stringify(chatBody({ chatId: newId("c"), messageId: newId("m"), text: "Go on forever" })),
        signal: abort.signal,
      });
      const reader = response.body?.getReader();
      let received = "";
      while (!received.includes("word10"))
        received += new TextDecoder().decode((await reader?.read())?.value);
      abort.abort();
      // Settlement runs after the disconnect; wait for the hold to be resolved.
      let state = await ledgerState(database.pool, user.id);
      for (let tries = 0; state.openHolds > 0 && tries < 100; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        state = await ledgerState(database.pool, user.id);
      }
      expect(state).toMatchObject({ openHolds: 0, heldCents: 0, usageEntries: 1 });
      expect(state.balanceCents).toBe(state.entriesCents);
      const charged = 100_000 - state.balanceCents;
      // More than the prompt alone, far less than the 400-word answer (about 1,000 tokens) it did
      // not wait for: the provider was stopped, not left running.
      expect(charged).toBeGreaterThan(40);
      expect(charged).toBeLessThan(100 * 4);
      expect(provider.closedEarly).toBe(closedBefore + 1);
      const saved = await database.pool.query(
        "select status, metadata from chat.messages where user_id = $1 and role = 'assistant'",
        [user.id],
      );
      expect(saved.rows[0]).toMatchObject({
        status: "completed",
        metadata: { interrupted: true, chargedCents: charged },
      });
    } finally {
      (server as Server).closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("a client that hangs up before the first word", () => {
  it("still pays for the prompt the provider was sent, and the provider is stopped", async () => {
    // The provider sends nothing for 5 s, as one still reading a long prompt would.
    const { app, ledger } = compatible("hesitant-5000");
    const user = await userWithBalance(ledger, newId("hangup"), 100_000);
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise((resolve) => server.once("listening", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const asked = provider.requests.length;
      const closedBefore = provider.closedEarly;
      const abort = new AbortController();
      const body = chatBody({ chatId: newId("c"), messageId: newId("m"), text: "A long prompt " });
      const answering = fetch(`http://127.0.0.1:${port}/api/chat`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-test-user": user.id },
        body: JSON.stringify(body),
        signal: abort.signal,
      }).then((response) => response.text());
      // The provider has the prompt; the client leaves before a word came back.
      await expect.poll(() => provider.requests.length, { timeout: 3_000 }).toBe(asked + 1);
      abort.abort();
      await answering.catch(() => undefined);
      await expect.poll(async () => (await ledgerState(database.pool, user.id)).openHolds).toBe(0);
      const saved = await database.pool.query(
        "select status, parts, charged_cents, metadata from chat.messages where user_id = $1 and role = 'assistant'",
        [user.id],
      );
      const [answer] = saved.rows;
      // Nothing was said, so nothing to replay; but the prompt's counted tokens were charged.
      expect(answer).toMatchObject({
        status: "failed",
        parts: [],
        metadata: { interrupted: true, outputTokens: 0 },
      });
      const inputTokens = answer.metadata.inputTokens;
      expect(inputTokens).toBeGreaterThan(0);
      expect(answer.charged_cents).toBe(inputTokens * 4);
      expect(await ledgerState(database.pool, user.id)).toEqual({
        balanceCents: 100_000 - inputTokens * 4,
        heldCents: 0,
        entriesCents: 100_000 - inputTokens * 4,
        openHolds: 0,
        usageEntries: 1,
      });
      // Stopped, not left to answer: the provider saw its client go, and no retry asked it again.
      await expect.poll(() => provider.closedEarly).toBe(closedBefore + 1);
      expect(provider.requests.length).toBe(asked + 1);
    } finally {
      (server as Server).closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("a Google Gemini provider", () => {
  it("streams through @ai-sdk/google and charges its usageMetadata", async () => {
    const config = testConfig({ AI_MODEL: "google:gemini-2.0-flash", GEMINI_API_KEY: "test-key", ...prices });
    const model = resolveModel(config, { googleBaseUrl: `${provider.url}/v1beta` });
    const { app, ledger } = chatApp({ pool: database.pool, config, model });
    const user = await userWithBalance(ledger, newId("gemini"), 100_000);
    const chunks = await ask(app, user.id);
    expect(answerText(chunks)).toBe(fullAnswer);
    expect(finishMetadata(chunks)).toMatchObject({ model: "google:gemini-2.0-flash", chargedCents: 68 });
    expect(provider.requests.at(-1)?.path).toContain("/v1beta/models/gemini-2.0-flash:streamGenerateContent");
    expect(await ledgerState(database.pool, user.id)).toMatchObject({
      balanceCents: 99_932,
      openHolds: 0,
      usageEntries: 1,
    });
  });
});
