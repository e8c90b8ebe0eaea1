import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SignedUp, TestApp } from "./support/app.js";
import { createTestApp } from "./support/app.js";
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
