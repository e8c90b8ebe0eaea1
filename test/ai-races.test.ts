import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type SignedUp, type TestApp } from "./support/app.js";
import { answerText, chatBody, finishMetadata, ledgerState, newId, readChunks } from "./support/chat.js";

// The whole app (real sessions, demo model, ledger, database) under concurrent chats. The demo model
// holds and charges 1 cent per short answer, so a balance of 5 cents covers exactly 5 answers.

let test: TestApp;
beforeAll(async () => {
  test = await createTestApp({ AI_MODEL: "demo", NEW_USER_CREDITS_CENTS: "5" });
});
afterAll(() => test.close());

function chat(person: SignedUp, body: unknown) {
  return test.app.request("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json", cookie: person.cookie },
    body: JSON.stringify(body),
  });
}

async function signedUpWithAccount(): Promise<SignedUp> {
  const person = await test.signUp();
  // The first signed-in request opens the credits account with the starter credits.
  expect((await test.app.request("/api/me", { headers: { cookie: person.cookie } })).status).toBe(200);
  return person;
}

describe("POST /api/chat through the whole app", () => {
  it("needs a session", async () => {
    const response = await test.app.request("/api/chat", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chatBody({ chatId: "c", messageId: "m", text: "hi" })),
    });
    expect(response.status).toBe(401);
  });

  it("answers with the demo model and charges it like a real one", async () => {
    const person = await signedUpWithAccount();
    const chunks = await readChunks(
      await chat(person, chatBody({ chatId: newId("c"), messageId: newId("m"), text: "Hello" })),
    );
    expect(answerText(chunks)).toContain("demo model");
    expect(finishMetadata(chunks)).toMatchObject({
      model: "demo",
      isDemo: true,
      chargedCents: 1,
      balanceCents: 4,
    });
  });

  it("lets 50 concurrent chats on a balance covering 5 answer exactly 5, never overdrawing", async () => {
    const person = await signedUpWithAccount();
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        chat(
          person,
          chatBody({ chatId: newId("race"), messageId: newId(`m${index}`), text: `Question ${index}` }),
        ),
      ),
    );
    const answered = responses.filter((response) => response.status === 200);
    const refused = responses.filter((response) => response.status === 402);
    expect(answered.length + refused.length).toBe(50);
    const charges = await Promise.all(
      answered.map(async (response) => finishMetadata(await readChunks(response))),
    );
    for (const response of refused) expect((await response.json()).error.code).toBe("INSUFFICIENT_CREDITS");
    expect(charges.reduce((sum, metadata) => sum + Number(metadata?.chargedCents), 0)).toBe(5);
    expect(answered).toHaveLength(5);
    expect(await ledgerState(test.database.pool, person.user.id)).toEqual({
      balanceCents: 0,
      heldCents: 0,
      entriesCents: 0,
      openHolds: 0,
      usageEntries: 5,
    });
  });

  it("charges once when the same message id is sent many times at once", async () => {
    const person = await signedUpWithAccount();
    const body = chatBody({ chatId: newId("dup"), messageId: newId("m"), text: "Only once" });
    const responses = await Promise.all(Array.from({ length: 10 }, () => chat(person, body)));
    // Each is the answer, a free replay of it, or told the answer is still running; never a second charge.
    for (const response of responses) expect([200, 409]).toContain(response.status);
    const again = finishMetadata(await readChunks(await chat(person, body)));
    expect(again).toMatchObject({ replayed: true, chargedCents: 0, balanceCents: 4 });
    for (const response of responses) await response.text();
    expect(await ledgerState(test.database.pool, person.user.id)).toMatchObject({
      balanceCents: 4,
      openHolds: 0,
      usageEntries: 1,
    });
  });
});

// Seeded, so a failure reproduces.
function seededLetters(seed: number) {
  let state = seed;
  return (length: number) =>
    Array.from({ length }, () => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      return String.fromCharCode(97 + (state % 26));
    }).join("");
}

const letters = seededLetters(42);
/** Words the tokenizer has never seen: its slowest ordinary input, a few microseconds a character. */
const rareWords = (length: number) => {
  let text = "";
  while (text.length < length) text += `${letters(1 + (text.length % 9))} `;
  return text.slice(0, length);
};

/** A conversation of `promptChars` characters, each message as long as a question may be. */
function largestChat(input: {
  promptChars: number;
  messageChars: number;
  makeText: (length: number) => string;
}) {
  const lengths: number[] = [];
  for (let left = input.promptChars; left > 0; left -= input.messageChars) {
    lengths.push(Math.min(left, input.messageChars));
  }
  const [last = 1, ...earlier] = lengths.reverse();
  const body = chatBody({
    chatId: newId("large"),
    messageId: newId("m"),
    text: input.makeText(last),
    history: earlier.map((length) => ({
      id: newId("h"),
      role: "user" as const,
      text: input.makeText(length),
    })),
  });
  // In parts of 32,000 characters, the most a part could have before: such a body was accepted then.
  const parts = (text: string) =>
    Array.from({ length: Math.ceil(text.length / 32_000) }, (_, index) => ({
      type: "text",
      text: text.slice(index * 32_000, (index + 1) * 32_000),
    }));
  return {
    ...body,
    messages: body.messages.map((message) => ({ ...message, parts: parts(message.parts[0]?.text ?? "") })),
  };
}

/** Sends `body` as `person` and asks /healthz again and again until the answer has been read. */
async function chatWhileCheckingHealth(on: TestApp, person: SignedUp, body: unknown) {
  let answered = false;
  const sent = on.app.request("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json", cookie: person.cookie },
    body: JSON.stringify(body),
  });
  const chatting = Promise.resolve(sent).then(async (response) => {
    const chunks = await readChunks(response);
    answered = true;
    return { status: response.status, chunks };
  });
  const health: number[] = [];
  while (!answered) health.push((await on.app.request("/healthz")).status);
  return { ...(await chatting), health };
}

async function withCredits(on: TestApp, amountCents: number): Promise<SignedUp> {
  const person = await on.signUp();
  expect((await on.app.request("/api/me", { headers: { cookie: person.cookie } })).status).toBe(200);
  const granted = await on.ledger.grant({
    userId: person.user.id,
    amountCents,
    kind: "adjustment",
    idempotencyKey: newId("grant"),
  });
  expect(granted.error).toBeNull();
  return person;
}

// Before, the tokenizer ran on the main thread in time that grows with the square of a run of
// letters: 128 KB of them held every request, /healthz included, for 8 s; a megabyte, for minutes.
describe("a chat of the most text the settings allow", () => {
  it("is answered with the default limits while /healthz keeps answering", async () => {
    const person = await withCredits(test, 10_000);
    const { chatMaxMessageChars: messageChars, chatMaxPromptChars: promptChars } = test.config;
    for (const makeText of [letters, rareWords]) {
      const body = largestChat({ promptChars, messageChars, makeText });
      const { status, chunks, health } = await chatWhileCheckingHealth(test, person, body);
      expect(status).toBe(200);
      expect(answerText(chunks)).toContain("demo model");
      expect(health.length).toBeGreaterThan(0);
      expect(health.filter((code) => code !== 200)).toEqual([]);
    }
    expect(await ledgerState(test.database.pool, person.user.id)).toMatchObject({
      openHolds: 0,
      usageEntries: 2,
    });
  });

  it("is answered with the largest limits the settings accept while /healthz keeps answering", async () => {
    const largest = await createTestApp({
      AI_MODEL: "demo",
      CHAT_MAX_MESSAGE_CHARS: "1000000",
      CHAT_MAX_PROMPT_CHARS: "1000000",
    });
    try {
      const person = await withCredits(largest, 10_000);
      for (const [makeText, promptChars] of [
        [letters, 1_000_000],
        [rareWords, 300_000],
      ] as const) {
        const body = largestChat({ promptChars, messageChars: promptChars, makeText });
        const { status, chunks, health } = await chatWhileCheckingHealth(largest, person, body);
        expect(status).toBe(200);
        expect(answerText(chunks)).toContain("demo model");
        expect(health.filter((code) => code !== 200)).toEqual([]);
      }
    } finally {
      await largest.close();
    }
  }, 20_000);
});
